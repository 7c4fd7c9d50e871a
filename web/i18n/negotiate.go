package i18n

import (
	"golang.org/x/text/language"
)

// bounds on what Match reads from a request.
const (
	maxTags     = 16
	maxTagBytes = 35
)

// supportedTag returns the catalog that serves tag well enough (same
// language, e.g. ja-JP → ja), or "".
func (c *Catalog) supportedTag(t language.Tag) string {
	_, i, conf := c.matcher.Match(t)
	if conf < language.High {
		return ""
	}
	return c.names[i]
}

// MatchUILocales returns the first of tags, in order, that a complete
// catalog serves (OIDC Core §3.1.2.1: ui_locales is a space-separated
// list in order of preference), or "".
func (c *Catalog) MatchUILocales(tags []string) string {
	for i, s := range tags {
		if i == maxTags {
			break
		}
		if len(s) > maxTagBytes {
			continue
		}
		t, err := language.Parse(s)
		if err != nil {
			continue
		}
		if lang := c.supportedTag(t); lang != "" {
			return lang
		}
	}
	return ""
}

// MatchAcceptLanguage picks a catalog for an Accept-Language header
// (RFC 9110 §12.5.4), weighing quality values: "fr, ja-JP;q=0.9" gives
// ja. It returns "" when the header names nothing supported.
func (c *Catalog) MatchAcceptLanguage(header string) string {
	if header == "" || len(header) > 1024 {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return ""
	}
	if len(tags) > maxTags {
		tags = tags[:maxTags]
	}
	for _, t := range tags { // sorted by quality, highest first
		if lang := c.supportedTag(t); lang != "" {
			return lang
		}
	}
	return ""
}
