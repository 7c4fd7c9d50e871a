package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var files embed.FS

// Default is the language used when nothing else decides.
const Default = "en"

// Catalog is the loaded set of message catalogs. The zero value is not
// usable; use Load or Catalogs.
type Catalog struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag // supported, in the order of Supported
	names   []string
	matcher language.Matcher
	keys    map[string]map[string]string // lang → key → message
}

// Load reads the embedded catalogs. Every catalog must hold exactly the
// keys of the English one; a language with a missing or extra key is an
// error, so only complete catalogs are ever offered (and advertised as
// ui_locales_supported).
func Load() (*Catalog, error) {
	c := &Catalog{bundle: goi18n.NewBundle(language.English), keys: map[string]map[string]string{}}
	c.bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	entries, err := fs.Glob(files, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range entries {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		flat, err := flatten(b)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		if _, err := c.bundle.ParseMessageFileBytes(b, name); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		lang := strings.TrimSuffix(path.Base(name), ".json")
		c.keys[lang] = flat
	}
	en, ok := c.keys[Default]
	if !ok {
		return nil, fmt.Errorf("i18n: no %s catalog", Default)
	}
	langs := slices.Sorted(maps.Keys(c.keys))
	slices.SortStableFunc(langs, func(a, b string) int { // English first: the matcher's fallback
		switch {
		case a == Default:
			return -1
		case b == Default:
			return 1
		}
		return 0
	})
	for _, lang := range langs {
		for k, v := range c.keys[lang] {
			if _, ok := en[k]; !ok {
				return nil, fmt.Errorf("i18n: %s has key %q that %s lacks", lang, k, Default)
			}
			if strings.TrimSpace(v) == "" {
				return nil, fmt.Errorf("i18n: %s: %q is empty", lang, k)
			}
		}
		for k := range en {
			if _, ok := c.keys[lang][k]; !ok {
				return nil, fmt.Errorf("i18n: %s lacks key %q", lang, k)
			}
		}
		c.tags = append(c.tags, language.MustParse(lang))
		c.names = append(c.names, lang)
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

var catalog = func() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err) // the embedded catalogs are checked by the package's tests
	}
	return c
}()

// Catalogs returns the embedded catalogs, loaded once.
func Catalogs() *Catalog { return catalog }

// Supported lists the BCP 47 tags of the complete catalogs, English first.
func (c *Catalog) Supported() []string { return slices.Clone(c.names) }

// Keys returns every key of the catalogs (all catalogs have the same).
func (c *Catalog) Keys() []string { return slices.Sorted(maps.Keys(c.keys[Default])) }

// Message returns lang's raw catalog entry for key, and whether it exists.
func (c *Catalog) Message(lang, key string) (string, bool) {
	m, ok := c.keys[lang][key]
	return m, ok
}

// Supports reports whether lang names a complete catalog exactly.
func (c *Catalog) Supports(lang string) bool { return slices.Contains(c.names, lang) }

// Localizer speaks one language and shows times in one zone. Create it
// with Catalog.Localizer.
type Localizer struct {
	lang string
	loc  *goi18n.Localizer
	zone *time.Location
}

// Localizer returns a Localizer for lang (one of Supported; anything else
// means Default), showing times in zone (nil means UTC).
func (c *Catalog) Localizer(lang string, zone *time.Location) *Localizer {
	if !c.Supports(lang) {
		lang = Default
	}
	if zone == nil {
		zone = time.UTC
	}
	return &Localizer{lang: lang, loc: goi18n.NewLocalizer(c.bundle, lang), zone: zone}
}

// Lang is the BCP 47 tag of the language, for <html lang>.
func (l *Localizer) Lang() string { return l.lang }

// Zone is the time zone times are shown in.
func (l *Localizer) Zone() *time.Location { return l.zone }

// MissingPrefix starts the text T returns for a key no catalog has, so
// tests (and people) can spot it; it never holds a translation.
const MissingPrefix = "!!missing:"

// T returns the message for key, with args as name/value pairs filling the
// message's {{.Name}} placeholders (T("login.lead", "Client", name)). A
// key missing from the catalog yields MissingPrefix+key.
func (l *Localizer) T(key string, args ...any) string {
	var data map[string]any
	if len(args) > 0 {
		data = make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			name, _ := args[i].(string)
			data[name] = args[i+1]
		}
	}
	cfg := &goi18n.LocalizeConfig{MessageID: key, TemplateData: data}
	if n, ok := data["Count"]; ok {
		cfg.PluralCount = n
	}
	s, err := l.loc.Localize(cfg)
	if err != nil {
		return MissingPrefix + key
	}
	return s
}

// split is a placeholder value no message contains.
const split = "\x00"

// Split returns the message for key around its one placeholder named
// name, so a component can put markup (e.g. <strong>) around the value
// in whatever position the language puts it.
func (l *Localizer) Split(key, name string, args ...any) (before, after string) {
	s := l.T(key, append([]any{name, split}, args...)...)
	before, after, _ = strings.Cut(s, split)
	return before, after
}

type ctxKey struct{}

// WithLocalizer returns ctx carrying l.
func WithLocalizer(ctx context.Context, l *Localizer) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// FromContext returns the Localizer in ctx, or nil.
func FromContext(ctx context.Context) *Localizer {
	l, _ := ctx.Value(ctxKey{}).(*Localizer)
	return l
}

// For returns the Localizer in ctx, or an English one in UTC.
func For(ctx context.Context) *Localizer {
	if l := FromContext(ctx); l != nil {
		return l
	}
	return catalog.Localizer(Default, nil)
}

// T translates key in the language of ctx (see Localizer.T).
func T(ctx context.Context, key string, args ...any) string {
	return For(ctx).T(key, args...)
}

// flatten reads a catalog file as key → text; a plural entry (an object
// of CLDR plural forms) counts by its "other" form.
func flatten(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var forms map[string]string
		if err := json.Unmarshal(v, &forms); err != nil || forms["other"] == "" {
			return nil, fmt.Errorf("%q is neither a text nor plural forms with \"other\"", k)
		}
		out[k] = forms["other"]
	}
	return out, nil
}
