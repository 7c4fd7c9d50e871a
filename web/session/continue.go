package session

import (
	"context"
	"errors"
	"net/http"

	"github.com/monban-idp/monban/storage"
)

// Continue completes the sign-in for an authorization request with the
// browser's existing session instead of the steps: on the account page of
// prompt=select_account (OIDC Core §3.1.2.1) the person chose to go on as
// who they are. The request is bound to sess as Advance binds it (a
// sealed request is stored then, once), and the returned page is the
// provider's callback, which decides about consent. sess must be the
// browser's live session (Manager.Current), which the caller checked.
// Errors are those of Advance.
func (f *Flow) Continue(ctx context.Context, w http.ResponseWriter, r *http.Request, authRequestID string, sess *storage.Session) (string, error) {
	if sess == nil || sess.UserID == "" {
		return "", errors.New("session: continue without a session")
	}
	f.clear(w, r)
	stored, err := f.bind(ctx, authRequestID, sess)
	if err != nil {
		return "", err
	}
	return f.callback(stored), nil
}
