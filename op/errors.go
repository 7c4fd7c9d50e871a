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

// Messages of the provider's error pages, one pair per situation; each
// says what happened and what to do. Kept as distinct values so a message
// catalog can replace them.
const (
	unavailTitle       = "Sign-in is temporarily unavailable"
	unavailDetail      = "Something went wrong on our side. Wait a moment and try again."
	invalidSignInT     = "This sign-in request is not valid"
	invalidSignInD     = "The request could not be read. Go back to the application and try again."
	tooLargeSignInD    = "The request is too large. Go back to the application and try again."
	methodSignInD      = "Only GET and POST are allowed. Go back to the application and try again."
	badClientParamsD   = "The application sent an incomplete or repeated client identifier or redirect address. Contact the application's administrator."
	unknownAppT        = "Unknown application"
	unknownAppD        = "The application that sent you here is not registered with this sign-in service. Contact the application's administrator."
	unregisteredAppD   = "The application that sent you here is no longer registered with this sign-in service."
	redirectNotRegT    = "Redirect address not registered"
	redirectNotRegD    = "The application asked to send you to an address it has not registered, so this sign-in was stopped to protect you. Contact the application's administrator."
	misconfiguredT     = "Application misconfigured"
	misconfiguredD     = "The application's redirect address is not valid."
	expiredRequestT    = "This sign-in request has expired"
	expiredRequestD    = "It took too long, or the request was already used. Go back to the application and sign in again."
	completedRequestT  = "This sign-in request was already completed"
	completedRequestD  = "Go back to the application; if you are not signed in there, sign in again."
	otherBrowserT      = "This sign-in request belongs to another browser session"
	otherBrowserD      = "Go back to the application and sign in again."
	invalidSignOutT    = "This sign-out request is not valid"
	invalidSignOutD    = "The request could not be read."
	tooLargeSignOutD   = "The request is too large."
	methodSignOutD     = "Only GET and POST are allowed."
	repeatedSignOutD   = "A parameter was repeated."
	unverifiedSignOutD = "The application sent a sign-out request this service cannot verify. You are still signed in."
	logoutNotRegT      = "Sign-out address not registered"
	logoutNoClientD    = "The application asked to send you to an address without saying which application it is. You were not signed out."
	logoutNotRegD      = "The application asked to send you to an address it has not registered. You were not signed out."
)
