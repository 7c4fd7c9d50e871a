package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/monban-idp/monban/web/view"
)

// Brand is how an organisation dresses the pages. The zero value is
// monban's own brand.
type Brand struct {
	// Name is the product name shown above every page and in titles;
	// "" means "monban".
	Name string
	// LogoFile is the path of a logo (SVG, PNG, JPEG or WebP, at most
	// MaxLogoBytes), read once by New and served by monban itself; ""
	// keeps monban's mark.
	LogoFile string
	// Color is the primary colour of buttons and links, "#rgb" or
	// "#rrggbb"; "" keeps monban's.
	Color string
	// SupportURL, an absolute http or https URL, adds a support link to
	// every page; "" for none.
	SupportURL string
}

// MaxLogoBytes bounds a brand logo file.
const MaxLogoBytes = 512 << 10

// Paths of the brand's logo and stylesheet.
const (
	brandLogoPath  = "/brand/logo"
	brandStylePath = "/brand/style.css"
)

var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// logoTypes are the accepted logo files by extension, with the content
// type they are served with and what the content must sniff as (for
// raster images).
var logoTypes = map[string]struct{ contentType, sniff string }{
	".svg":  {"image/svg+xml", ""},
	".png":  {"image/png", "image/png"},
	".jpg":  {"image/jpeg", "image/jpeg"},
	".jpeg": {"image/jpeg", "image/jpeg"},
	".webp": {"image/webp", "image/webp"},
}

// brandAssets is a validated Brand: what the pages show and the files
// served for it.
type brandAssets struct {
	view     view.Brand
	logo     []byte
	logoType string
	style    []byte
}

// load validates b and reads its logo.
func (b Brand) load() (*brandAssets, error) {
	a := &brandAssets{view: view.DefaultBrand()}
	var errs []error
	if b.Name != "" {
		if len(b.Name) > 64 || strings.ContainsFunc(b.Name, func(r rune) bool { return r < ' ' }) {
			errs = append(errs, errors.New("web: brand name must be at most 64 bytes without control characters"))
		}
		a.view.Name = b.Name
	}
	if b.SupportURL != "" {
		u, err := url.Parse(b.SupportURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("web: brand support URL %q must be an absolute http or https URL", b.SupportURL))
		}
		a.view.SupportURL = b.SupportURL
	}
	if b.Color != "" {
		if !hexColor.MatchString(b.Color) {
			errs = append(errs, fmt.Errorf("web: brand colour %q must be #rgb or #rrggbb", b.Color))
		} else {
			a.style = brandStyle(b.Color)
			a.view.StyleURL = brandStylePath + "?v=" + shortHash(a.style)
		}
	}
	if b.LogoFile != "" {
		if err := a.readLogo(b.LogoFile); err != nil {
			errs = append(errs, err)
		}
	}
	return a, errors.Join(errs...)
}

func (a *brandAssets) readLogo(path string) error {
	typ, ok := logoTypes[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return fmt.Errorf("web: brand logo %s must be an .svg, .png, .jpg or .webp file", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("web: brand logo: %w", err)
	}
	if len(b) == 0 || len(b) > MaxLogoBytes {
		return fmt.Errorf("web: brand logo %s must hold 1 to %d bytes", path, MaxLogoBytes)
	}
	if typ.sniff != "" && http.DetectContentType(b) != typ.sniff {
		return fmt.Errorf("web: brand logo %s is not a %s image", path, typ.contentType)
	}
	if typ.sniff == "" && !strings.Contains(string(b[:min(len(b), 4096)]), "<svg") {
		return fmt.Errorf("web: brand logo %s is not an SVG image", path)
	}
	a.logo, a.logoType = b, typ.contentType
	a.view.LogoURL = brandLogoPath + "?v=" + shortHash(b)
	return nil
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// brandStyle is the stylesheet that puts color on buttons and links, with
// a text colour readable on it (WCAG relative luminance).
func brandStyle(color string) []byte {
	c := strings.TrimPrefix(color, "#")
	if len(c) == 3 {
		c = string([]byte{c[0], c[0], c[1], c[1], c[2], c[2]})
	}
	var lum float64
	for i, w := range []float64{0.2126, 0.7152, 0.0722} {
		v, _ := strconv.ParseUint(c[2*i:2*i+2], 16, 8)
		s := float64(v) / 255
		if s <= 0.03928 {
			s /= 12.92
		} else {
			s = pow24((s + 0.055) / 1.055)
		}
		lum += w * s
	}
	text := "#ffffff"
	if lum > 0.179 {
		text = "#111111"
	}
	css := fmt.Sprintf(":root{--accent:#%[1]s;--accent-hover:#%[1]s;--accent-text:%[2]s}\n"+
		"@media (prefers-color-scheme: dark){:root{--accent:#%[1]s;--accent-hover:#%[1]s;--accent-text:%[2]s}}\n", c, text)
	return []byte(css)
}

// pow24 is x^2.4 (the sRGB transfer function).
func pow24(x float64) float64 { return math.Pow(x, 2.4) }

// serveBrand serves the brand's logo and stylesheet with their exact
// content types, never sniffed, cacheable (the URLs carry a content
// hash), and for SVG under a policy that runs no script.
func (h *Handler) serveBrand(w http.ResponseWriter, r *http.Request) {
	var body []byte
	var typ string
	switch r.URL.Path {
	case brandLogoPath:
		body, typ = h.brandFiles.logo, h.brandFiles.logoType
	case brandStylePath:
		body, typ = h.brandFiles.style, "text/css; charset=utf-8"
	}
	if body == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", typ)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "public, max-age=86400")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
