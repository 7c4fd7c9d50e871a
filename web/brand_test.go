package web

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestBrandValidation(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	svg := write("logo.svg", `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"></svg>`)
	fakePNG := write("logo.png", `<svg xmlns="http://www.w3.org/2000/svg"></svg>`)
	html := write("logo.html", `<html></html>`)
	tests := []struct {
		name    string
		brand   Brand
		wantErr string
	}{
		{name: "default", brand: Brand{}},
		{name: "full", brand: Brand{Name: "Example ID", LogoFile: svg, Color: "#0a7", SupportURL: "https://help.example/"}},
		{name: "bad colour", brand: Brand{Color: "red; }"}, wantErr: "colour"},
		{name: "bad colour length", brand: Brand{Color: "#12345"}, wantErr: "colour"},
		{name: "support not http", brand: Brand{SupportURL: "javascript:alert(1)"}, wantErr: "support URL"},
		{name: "logo type by extension", brand: Brand{LogoFile: html}, wantErr: ".svg, .png"},
		{name: "logo content must match", brand: Brand{LogoFile: fakePNG}, wantErr: "not a image/png"},
		{name: "logo missing", brand: Brand{LogoFile: filepath.Join(dir, "none.svg")}, wantErr: "brand logo"},
		{name: "name with control characters", brand: Brand{Name: "a\nb"}, wantErr: "brand name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.brand.load()
			if tt.wantErr == "" && err != nil {
				t.Fatalf("load: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("load = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

// TestBrandOnEveryPage shows the brand's name, logo, colour and support
// link on a page, and the logo and stylesheet served with strict types.
func TestBrandOnEveryPage(t *testing.T) {
	logo := filepath.Join(t.TempDir(), "logo.svg")
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, false, func(c *Config) {
		c.Appearance.Brand = Brand{Name: "サンプル ID", LogoFile: logo, Color: "#ffcc00", SupportURL: "https://help.example/"}
	})
	c := e.browser()
	p := e.get(c, e.h.SignInURL(e.newRequest()))
	for _, want := range []string{"<span>サンプル ID</span>", "· サンプル ID</title>", `href="https://help.example/"`,
		`src="/brand/logo?v=`, `href="/brand/style.css?v=`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(p.body, ">monban<") {
		t.Error("the default name is still shown")
	}
	src := regexp.MustCompile(`src="(/brand/logo\?v=[0-9a-f]+)"`).FindStringSubmatch(p.body)
	css := regexp.MustCompile(`href="(/brand/style\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(p.body)
	if src == nil || css == nil {
		t.Fatal("no brand URLs")
	}
	got := e.get(c, src[1])
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "image/svg+xml" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(got.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("logo: %d %v", got.status, got.header)
	}
	got = e.get(c, css[1])
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "text/css; charset=utf-8" ||
		!strings.Contains(got.body, "--accent:#ffcc00") || !strings.Contains(got.body, "--accent-text:#111111") {
		t.Errorf("brand stylesheet: %d %q %v", got.status, got.body, got.header)
	}
	if e.get(c, "/brand/other").status != http.StatusNotFound {
		t.Error("unknown brand file served")
	}
}

func TestDefaultBrandServesNothing(t *testing.T) {
	e := newEnv(t, false)
	if got := e.get(e.browser(), "/brand/logo"); got.status != http.StatusNotFound {
		t.Errorf("logo without a brand: %d", got.status)
	}
}
