package i18n

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCatalogsAreComplete(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Supported(); !slices.Equal(got, []string{"en", "ja"}) {
		t.Fatalf("Supported = %v", got)
	}
	for _, k := range c.Keys() {
		for _, lang := range c.Supported() {
			if m, ok := c.Message(lang, k); !ok || strings.TrimSpace(m) == "" {
				t.Errorf("%s: %q missing", lang, k)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	c := Catalogs()
	tests := []struct {
		name   string
		ui     []string
		accept string
		want   string
	}{
		{name: "ja", ui: []string{"ja"}, want: "ja"},
		{name: "region", ui: []string{"ja-JP"}, want: "ja"},
		{name: "first supported", ui: []string{"fr-CA", "de", "ja", "en"}, want: "ja"},
		{name: "none supported", ui: []string{"fr", "zh-Hant"}, want: ""},
		{name: "malformed skipped", ui: []string{"!!", "en-GB"}, want: "en"},
		{name: "accept q", accept: "ja-JP,ja;q=0.9,en;q=0.8", want: "ja"},
		{name: "accept order by q", accept: "en;q=0.3, ja;q=0.7", want: "ja"},
		{name: "accept unsupported first", accept: "fr, ja;q=0.5", want: "ja"},
		{name: "accept nothing", accept: "fr, de", want: ""},
		{name: "accept malformed", accept: ";;;q=x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			if tt.ui != nil {
				got = c.MatchUILocales(tt.ui)
			} else {
				got = c.MatchAcceptLanguage(tt.accept)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLocalizer(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 42, 0, 0, time.UTC)
	tests := []struct {
		name                  string
		lang                  string
		zone                  *time.Location
		wantTime, wantMinutes string
		wantLead              string
	}{
		{name: "ja Tokyo", lang: "ja", zone: tokyo, wantTime: "2026年12月6日 18:42 JST", wantMinutes: "15分",
			wantLead: "Shop を続けるにはサインインしてください"},
		{name: "en UTC", lang: "en", wantTime: "Dec 6, 2026 09:42 UTC", wantMinutes: "15 minutes", wantLead: "to continue to Shop"},
		{name: "unsupported means English", lang: "fr", wantTime: "Dec 6, 2026 09:42 UTC", wantMinutes: "15 minutes",
			wantLead: "to continue to Shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Catalogs().Localizer(tt.lang, tt.zone)
			if got := l.Time(at); got != tt.wantTime {
				t.Errorf("Time = %q, want %q", got, tt.wantTime)
			}
			if got := l.Duration(15 * time.Minute); got != tt.wantMinutes {
				t.Errorf("Duration = %q, want %q", got, tt.wantMinutes)
			}
			if got := l.T("login.lead", "Client", "Shop"); got != tt.wantLead {
				t.Errorf("T = %q, want %q", got, tt.wantLead)
			}
			if got := l.T("no.such.key"); got != MissingPrefix+"no.such.key" {
				t.Errorf("missing key = %q", got)
			}
		})
	}
	if got := Catalogs().Localizer("en", nil).Duration(time.Hour); got != "1 hour" {
		t.Errorf("plural one = %q", got)
	}
}

func TestSplitPutsMarkupWhereTheLanguageWantsIt(t *testing.T) {
	ja := Catalogs().Localizer("ja", nil)
	b, a := ja.Split("login.lead", "Client")
	if b != "" || a != " を続けるにはサインインしてください" {
		t.Errorf("ja split = %q | %q", b, a)
	}
	en := Catalogs().Localizer("en", nil)
	if b, a := en.Split("login.lead", "Client"); b != "to continue to " || a != "" {
		t.Errorf("en split = %q | %q", b, a)
	}
}

func TestContext(t *testing.T) {
	if For(context.Background()).Lang() != Default {
		t.Error("no localizer in the context should mean English")
	}
	ctx := WithLocalizer(context.Background(), Catalogs().Localizer("ja", nil))
	if T(ctx, "login.submit") != "サインイン" {
		t.Errorf("T(ja) = %q", T(ctx, "login.submit"))
	}
}
