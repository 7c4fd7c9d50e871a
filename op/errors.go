package op

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
)

// Errors leave the provider by one of two adapters, by who reads them:
//
//   - clients (applications): an OAuth error. The JSON endpoints return
//     errors to zitadel's router (serverError hides internal ones) or
//     write them with writeOAuthError (RFC 6749 §5.2); the browser
//     endpoints return a *clientError, which serveBrowser redirects to the
//     client's registered redirect URI (RFC 6749 §4.1.2.1).
//   - people: any other error a browser endpoint returns is shown by
//     Browser.Fail on the error page, with its public message (pageError)
//     and the request id as a reference; an error without a public
//     message is a failure on our side, shown as "temporarily
//     unavailable" (503).
//
// Both log with the request's context, so the log line carries the
// request id. No Go error text reaches a client or a page.

// pageError is a failure shown to a person on the provider's error page.
// Err is the cause, logged and never shown. retry sets Retry-After.
type pageError struct {
	status        int
	title, detail string
	err           error
	retry         bool
}

// Error describes the failure for the log.
func (e *pageError) Error() string {
	if e.err == nil {
		return e.title
	}
	return e.title + ": " + e.err.Error()
}

// Unwrap returns the cause.
func (e *pageError) Unwrap() error { return e.err }

// Public returns what the error page shows (Browser.Fail looks for it).
func (e *pageError) Public() (status int, title, detail string) { return e.status, e.title, e.detail }

// badRequest is a 400 page without a cause.
func badRequest(title, detail string) error {
	return &pageError{status: http.StatusBadRequest, title: title, detail: detail}
}

// unavailable is the page shown when the store failed: what failed is
// logged, never shown, and the browser may retry (RFC 9110 §10.2.3).
func unavailable(err error) error {
	return &pageError{status: http.StatusServiceUnavailable, title: unavailTitle, detail: unavailDetail, err: err, retry: true}
}

// clientError is an OAuth error for the client that sent the browser,
// answered by redirecting to its registered redirect URI (RFC 6749
// §4.1.2.1); state is echoed when echoState.
type clientError struct {
	redirectURI, state string
	echoState          bool
	e                  *oidc.Error
}

func (e *clientError) Error() string { return "authorization error " + string(e.e.ErrorType) }

// browserHandler is a browser-facing endpoint that returns its failure.
type browserHandler func(w http.ResponseWriter, r *http.Request) error

// serveBrowser adapts a browserHandler: a *clientError is redirected to
// the client, anything else goes to the error page (Browser.Fail).
func (p *Provider) serveBrowser(h browserHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ce *clientError
		if errors.As(err, &ce) {
			p.log.InfoContext(r.Context(), "authorization error sent to the client", "path", r.URL.Path,
				"error", string(ce.e.ErrorType), "client_redirect", ce.redirectURI)
			p.redirectError(w, r, ce.redirectURI, ce.state, ce.echoState, ce.e)
			return
		}
		var pe *pageError
		if errors.As(err, &pe) && pe.retry {
			w.Header().Set("Retry-After", "5")
		}
		p.browser.Fail(w, r, err)
	}
}

// serverError turns an internal failure of a JSON endpoint into an OAuth
// error that says nothing about the cause; the cause is logged with the
// request's context. A store that cannot be reached makes the request
// retryable: 503 temporarily_unavailable (RFC 6749 §4.1.2.1 defines the
// code; RFC 7009 §2.2.1 the status).
func (p *Provider) serverError(ctx context.Context, err error) error {
	p.log.Log(ctx, failureLevel(err), "token endpoint failure", "error", err)
	return zop.NewStatusError(&oidc.Error{ErrorType: "temporarily_unavailable", Description: "the service is temporarily unavailable"}, http.StatusServiceUnavailable)
}

// writeOAuthError writes an OAuth JSON error (RFC 6749 §5.2).
func writeOAuthError(w http.ResponseWriter, status int, e *oidc.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{string(e.ErrorType), e.Description})
}

// failureLevel is the log level of a failed request: Error, except when
// it failed because the client went away first (its request context was
// cancelled), which is not the server's fault: Info.
func failureLevel(err error) slog.Level {
	if errors.Is(err, context.Canceled) {
		return slog.LevelInfo
	}
	return slog.LevelError
}

// Catalog keys (web/i18n) of the provider's error pages, one pair per
// situation; each says what happened and what to do. The pages show
// their text in the person's language; OAuth error descriptions for
// clients stay English.
const (
	unavailTitle       = "error.signin_unavailable.title"
	unavailDetail      = "error.signin_unavailable.detail"
	invalidSignInT     = "error.request_invalid.title"
	invalidSignInD     = "error.request_unreadable.detail"
	tooLargeSignInD    = "error.request_too_large.detail"
	methodSignInD      = "error.request_method.detail"
	badClientParamsD   = "error.request_invalid.detail"
	unknownAppT        = "error.unknown_client.title"
	unknownAppD        = "error.unknown_client.detail"
	unregisteredAppD   = "error.client_gone.detail"
	redirectNotRegT    = "error.redirect_uri.title"
	redirectNotRegD    = "error.redirect_uri.detail"
	misconfiguredT     = "error.misconfigured.title"
	misconfiguredD     = "error.misconfigured.detail"
	requestObjectD     = "error.request_object.detail"
	expiredRequestT    = "error.callback_expired.title"
	expiredRequestD    = "error.callback_expired.detail"
	completedRequestT  = "error.completed.title"
	completedRequestD  = "error.callback_completed.detail"
	otherBrowserT      = "error.callback_other_session.title"
	otherBrowserD      = "error.callback_other_session.detail"
	factorNeededT      = "error.factor_needed.title"
	factorNeededD      = "error.factor_needed.detail"
	invalidSignOutT    = "error.logout_invalid.title"
	invalidSignOutD    = "error.logout_unreadable.detail"
	tooLargeSignOutD   = "error.logout_too_large.detail"
	methodSignOutD     = "error.logout_method.detail"
	repeatedSignOutD   = "error.logout_repeated.detail"
	unverifiedSignOutD = "error.logout_unverified.detail"
	logoutNotRegT      = "error.logout_uri.title"
	logoutNoClientD    = "error.logout_anonymous.detail"
	logoutNotRegD      = "error.logout_uri.detail"
)
