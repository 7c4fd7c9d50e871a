package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// langCookieMaxAge is how long a language picked on a page is remembered.
const langCookieMaxAge = 365 * 24 * time.Hour

// localized returns r whose context carries the page's Localizer and frame
// (brand, own URL), choosing the language from, in order: the language the
// person picked with the switch (a cookie), Accept-Language (with quality
// values) and the configured default. The authorization request's
// ui_locales, which comes first, is applied by preferRequest once the
// request is loaded. A request already localized is returned as is.
func (h *Handler) localized(r *http.Request) *http.Request {
	if i18n.FromContext(r.Context()) != nil {
		return r
	}
	lang, _ := h.pickedLang(r)
	if lang == "" {
		lang = i18n.Catalogs().MatchAcceptLanguage(r.Header.Get("Accept-Language"))
	}
	if lang == "" {
		lang = h.defaultLang
	}
	page := &view.Page{Brand: h.brand}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && switchReturns(r.URL.Path) {
		page.Here = r.URL.RequestURI()
	}
	ctx := i18n.WithLocalizer(r.Context(), i18n.Catalogs().Localizer(lang, h.zone))
	return r.WithContext(view.WithPage(ctx, page))
}

// localize is middleware that localizes every page request.
func (h *Handler) localize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, h.localized(r))
	})
}

// pickedLang reads the switch's cookie: the language and when it was
// picked (zero when unknown).
func (h *Handler) pickedLang(r *http.Request) (string, time.Time) {
	c, err := r.Cookie(h.langName)
	if err != nil {
		return "", time.Time{}
	}
	lang, at, _ := strings.Cut(c.Value, ".")
	if !i18n.Catalogs().Supports(lang) {
		return "", time.Time{}
	}
	ms, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return lang, time.Time{}
	}
	return lang, time.UnixMilli(ms)
}

// preferRequest applies the pending authorization request's ui_locales
// (OIDC Core §3.1.2.1: the first supported tag wins) to the page, and
// makes the language switch come back to the request's page. A language
// picked with the switch after the request was made overrides ui_locales:
// the person's explicit choice on the page is the later, closer one.
func (h *Handler) preferRequest(r *http.Request, req *storage.AuthRequest, id string) {
	if p := view.PageFrom(r.Context()); p != nil {
		p.Here = r.URL.Path + "?id=" + url.QueryEscape(id) // the id as given: stored or sealed
	}
	loc := i18n.FromContext(r.Context())
	lang := i18n.Catalogs().MatchUILocales(req.UILocales)
	if loc == nil || lang == "" {
		return
	}
	if picked, at := h.pickedLang(r); picked != "" && !at.Before(req.CreatedAt.Truncate(time.Millisecond)) {
		return
	}
	*loc = *i18n.Catalogs().Localizer(lang, h.zone)
}

// switchLang remembers the language a person picked (GET /lang?lang=ja
// &next=/login?id=…) and sends them back to next, which must be a path on
// this site; anything else goes to the start page. The cookie holds only
// the language and when it was picked.
func (h *Handler) switchLang(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := q.Get("lang")
	if i18n.Catalogs().Supports(lang) {
		http.SetCookie(w, &http.Cookie{
			Name: h.langName, Value: lang + "." + strconv.FormatInt(h.now().UnixMilli(), 10),
			Path: "/", MaxAge: int(langCookieMaxAge / time.Second),
			HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
		})
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, localPath(q.Get("next")), http.StatusSeeOther)
}

// localPath returns next when it is a path on this site ("/login?id=…"),
// otherwise "/". Scheme-relative ("//evil"), backslash and absolute URLs
// are refused, so the switch is no open redirect.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// switchReturns reports whether the language switch may come back to a
// page at path by its own URL. Only pages whose query holds nothing from
// outside qualify: an error page of /authorize or /end_session must not
// reflect a redirect URI or a token hint into its links (checklist A1).
// The sign-in and consent pages come back by request id (preferRequest);
// the others go to the start page.
func switchReturns(path string) bool {
	return path == "/logged-out" || path == "/admin" || strings.HasPrefix(path, "/admin/")
}
