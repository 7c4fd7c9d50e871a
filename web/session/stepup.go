package session

import (
	"net/http"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// StepUp starts the flow for an authorization request whose browser has a
// live session that lacks a factor the request needs (OIDC Core §3.1.2.1
// acr_values; issue 17). The progress starts with what the session
// established (its user, methods and auth_time), so the steps already
// passed are done and the person is asked for the missing factor only;
// completing renews the session in place with the added methods and the
// same auth_time. It returns the first step still to do.
//
// The progress cookie is signed and bound to the request like any other,
// so it is worth nothing for another request, and the provider's callback
// still checks the methods bound to the request against what it needs.
func (f *Flow) StepUp(w http.ResponseWriter, r *http.Request, authRequestID string, sess *storage.Session) string {
	p := &Progress{RequestID: authRequestID, UserID: sess.UserID, AMR: slices.Clone(sess.AMR), AuthTime: sess.AuthTime}
	for _, s := range f.steps {
		if done, err := s.Done(r.Context(), p); err != nil || !done {
			f.save(w, p)
			return s.URL(authRequestID)
		}
	}
	// Nothing the steps can add: the whole sign-in, from the first step.
	return f.Start(authRequestID)
}
