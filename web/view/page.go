package view

import (
	"context"
	"net/url"

	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/static"
)

// Brand is what an organisation shows on every page: its product name,
// logo, an extra stylesheet with its colour, and an optional support link.
type Brand struct {
	Name       string // e.g. "monban" (the default)
	LogoURL    string // same-origin URL of the logo
	StyleURL   string // same-origin URL of the brand stylesheet; "" for none
	SupportURL string // absolute https or http URL; "" for none
}

// DefaultBrand is monban's own brand.
func DefaultBrand() Brand {
	return Brand{Name: "monban", LogoURL: static.Logo}
}

// Page is what the frame of a page needs besides its content: the brand,
// and the page's own same-origin URL (Here) for the language switch to
// come back to ("" when the page cannot be reloaded with GET).
type Page struct {
	Brand Brand
	Here  string
}

type pageKey struct{}

// WithPage returns ctx carrying p.
func WithPage(ctx context.Context, p *Page) context.Context {
	return context.WithValue(ctx, pageKey{}, p)
}

// PageFrom returns the Page in ctx, or nil.
func PageFrom(ctx context.Context) *Page {
	p, _ := ctx.Value(pageKey{}).(*Page)
	return p
}

func pageOf(ctx context.Context) *Page {
	if p := PageFrom(ctx); p != nil {
		return p
	}
	return &Page{Brand: DefaultBrand()}
}

func brand(ctx context.Context) Brand { return pageOf(ctx).Brand }

// SwitchPath is the language switch's endpoint (GET, parameters lang and
// next).
const SwitchPath = "/lang"

// langChoice is one entry of the language switch.
type langChoice struct {
	Lang, Label, Href string
	Current           bool
}

// langChoices lists the languages with their own names, each linking to
// the switch with this page as where to come back.
func langChoices(ctx context.Context) []langChoice {
	cur := lang(ctx)
	here := pageOf(ctx).Here
	var out []langChoice
	for _, l := range i18n.Catalogs().Supported() {
		q := url.Values{"lang": {l}}
		if here != "" {
			q.Set("next", here)
		}
		out = append(out, langChoice{Lang: l, Label: msg(ctx, "lang."+l), Href: SwitchPath + "?" + q.Encode(), Current: l == cur})
	}
	return out
}

// msg translates key in the language of the request (see i18n.T).
func msg(ctx context.Context, key string, args ...any) string {
	return i18n.T(ctx, key, args...)
}

// split returns the text of key around its placeholder name.
func split(ctx context.Context, key, name string, args ...any) (string, string) {
	return i18n.For(ctx).Split(key, name, args...)
}

func before(ctx context.Context, key, name string, args ...any) string {
	b, _ := split(ctx, key, name, args...)
	return b
}

func after(ctx context.Context, key, name string, args ...any) string {
	_, a := split(ctx, key, name, args...)
	return a
}

func lang(ctx context.Context) string { return i18n.For(ctx).Lang() }
