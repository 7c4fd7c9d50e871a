package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// PublicError is a failure together with what a person may read about
// it: the status of the page, its title and its detail (what happened and
// what to do), both catalog keys (web/i18n), shown in the person's
// language. Err is the cause; it is logged, never shown. Handlers
// return it, and Fail turns it into the error page.
type PublicError struct {
	Status        int
	Title, Detail string
	Err           error
}

// Error describes the failure for the log: the title and the cause.
func (e *PublicError) Error() string {
	if e.Err == nil {
		return e.Title
	}
	return e.Title + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *PublicError) Unwrap() error { return e.Err }

// Public returns what the error page shows.
func (e *PublicError) Public() (status int, title, detail string) {
	return e.Status, e.Title, e.Detail
}

// publicError is what Fail looks for in an error's chain: any error that
// can say what a person may read (PublicError here; op has its own).
type publicError interface {
	error
	Public() (status int, title, detail string)
}

// Catalog keys (web/i18n) of the error pages' texts, one pair per
// situation; each says what happened and what to do.
const (
	expiredTitle   = "error.expired.title"
	expiredDetail  = "error.expired.detail"
	formTitle      = "error.form.title"
	formDetail     = "error.form.detail"
	unavailTitle   = "error.unavailable.title"
	unavailDetail  = "error.unavailable.detail"
	completedTitle = "error.completed.title"
	completedDet   = "error.completed.detail"
	invalidFormT   = "error.invalid_form.title"
	invalidFormD   = "error.invalid_form.detail"
	tooLargeTitle  = "error.too_large.title"
	tooLargeDetail = "error.too_large.detail"
	signInFirstT   = "error.sign_in_first.title"
	signInFirstD   = "error.sign_in_first.detail"
	otherSessionT  = "error.other_session.title"
	otherSessionD  = "error.other_session.detail"
	chooseAnswerD  = "error.consent_choice.detail"
	chooseAccountD = "error.account_choice.detail"
	logoutNotRegT  = "error.logout_uri.title"
	logoutNotRegD  = "error.logout_uri.detail"
)

// fail returns a PublicError; cause may be nil.
func fail(status int, title, detail string, cause error) error {
	return &PublicError{Status: status, Title: title, Detail: detail, Err: cause}
}

func errExpired(cause error) error {
	return fail(http.StatusBadRequest, expiredTitle, expiredDetail, cause)
}
func errFormExpired() error { return fail(http.StatusForbidden, formTitle, formDetail, nil) }
func errCompleted(cause error) error {
	return fail(http.StatusBadRequest, completedTitle, completedDet, cause)
}
func errInvalidForm(cause error) error {
	return fail(http.StatusBadRequest, invalidFormT, invalidFormD, cause)
}

// errRequestUpdate is the answer to a failed update of an authorization
// request: a request that is gone has expired, one with a code was
// already completed, anything else is a store failure (a plain error,
// which Fail shows as "Something went wrong").
func errRequestUpdate(err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return errExpired(err)
	case errors.Is(err, storage.ErrConflict):
		return errCompleted(err)
	}
	return err
}

// Fail is the one way a browser page answers a failure (the adapter for
// people). An error carrying a public message (PublicError, or any error
// with a Public method, such as op's) is shown with its status, title and
// detail; any other error is a failure on our side: 503 "Something went
// wrong". The page also shows the request id as a reference the person
// can quote. The error itself, never shown, is logged with the request's
// context (so with its request id): failures on our side at Error (Info
// when the browser went away first), refusals at Info.
func (h *Handler) Fail(w http.ResponseWriter, r *http.Request, err error) {
	status, title, detail := http.StatusServiceUnavailable, unavailTitle, unavailDetail
	var pub publicError
	if errors.As(err, &pub) {
		status, title, detail = pub.Public()
	}
	level, msg := slog.LevelInfo, "request refused"
	if status >= http.StatusInternalServerError {
		level, msg = failureLevel(err), "request failed"
	}
	h.log.Log(r.Context(), level, msg, "path", r.URL.Path, "status", status, "err", err)
	r = ensurePageHeaders(w, r)
	h.render(w, r, status, view.ErrorPage(title, detail, RequestID(r.Context())))
}

// handlerFunc is a page handler that returns its failure instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// serve adapts a handlerFunc: a returned error goes to Fail.
func (h *Handler) serve(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.Fail(w, r, err)
		}
	})
}

// failureLevel is the log level of a failed request: Error, except when
// it failed because the person's browser went away first (the request
// context was cancelled), which is not the server's fault: Info.
func failureLevel(err error) slog.Level {
	if errors.Is(err, context.Canceled) {
		return slog.LevelInfo
	}
	return slog.LevelError
}
