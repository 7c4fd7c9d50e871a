// Package i18n holds the message catalogs of monban's browser pages and
// chooses the language a page speaks.
//
// Every person-facing text of the pages is a catalog entry, looked up by
// key through the Localizer carried in the request context: templ
// components call T(ctx, key, args…) and contain no literal text. The
// catalogs (locales/*.json, embedded) are read with go-i18n, which also
// gives plural forms and fallbacks.
package i18n
