package admin

import (
	"errors"
	"net/http"

	"github.com/monban-idp/monban/storage"
)

// removeLink removes a link between an upstream identity and the user
// (issue 18) in the transaction of its audit entry. The user keeps their
// account and sessions; the upstream identity no longer signs in as them.
func (h *Handler) removeLink(w http.ResponseWriter, r *http.Request, a *admin) {
	userID := r.PathValue("id")
	connectorID, subject := r.PostForm.Get("connector"), r.PostForm.Get("subject")
	ctx := r.Context()
	link, err := h.store.GetFederatedIdentity(ctx, connectorID, subject)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && link.UserID != userID) {
		h.notFound(w, r, a, "admin.not_found.link")
		return
	} else if err != nil {
		h.storeError(w, r, "get linked identity", err)
		return
	}
	before := map[string]string{"connector": connectorID, "subject": subject, "email": link.Email}
	err = h.change(r, a, storage.ActionIdentityUnlinked, "user:"+userID, before, nil,
		func(tx storage.Store) error { return tx.DeleteFederatedIdentity(ctx, connectorID, subject) })
	if errors.Is(err, storage.ErrNotFound) {
		h.notFound(w, r, a, "admin.not_found.link")
		return
	} else if err != nil {
		h.storeError(w, r, "remove linked identity", err)
		return
	}
	http.Redirect(w, r, userPath(userID)+"?saved=1", http.StatusSeeOther)
}
