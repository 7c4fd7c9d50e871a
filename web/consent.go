package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// scopeDescriptions are the catalog keys explaining well-known scopes in
// plain language.
var scopeDescriptions = map[string]string{
	"openid":         "scope.openid",
	"profile":        "scope.profile",
	"email":          "scope.email",
	"offline_access": "scope.offline_access",
}

// describeScopes lists the scopes for the consent page, known ones with a
// description, unknown ones by name, without duplicates.
func describeScopes(scopes []string) []view.Scope {
	out := make([]view.Scope, 0, len(scopes))
	seen := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		d, ok := scopeDescriptions[s]
		out = append(out, view.Scope{Name: s, Description: d, Known: ok})
	}
	return out
}

// consentRequest loads the request for the consent page and checks that it
// was authenticated by this very browser: its current session must be the
// one bound to the request.
func (h *Handler) consentRequest(r *http.Request, id string) (*pendingRequest, error) {
	p, err := h.loadRequest(r, id)
	if err != nil {
		return nil, err
	}
	if !p.req.Authenticated() {
		return nil, fail(http.StatusBadRequest, signInFirstT, signInFirstD, nil)
	}
	s, err := h.sessions.Current(r)
	if err != nil {
		return nil, err
	}
	if s == nil || s.ID != p.req.SessionID || s.UserID != p.req.UserID {
		h.log.WarnContext(r.Context(), "consent for another session refused", "auth_request", id)
		return nil, fail(http.StatusForbidden, otherSessionT, otherSessionD, nil)
	}
	return p, nil
}

func (h *Handler) getConsent(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := h.consentRequest(r, r.URL.Query().Get("id"))
	if err != nil {
		return err
	}
	var userName string
	u, err := h.store.GetUser(ctx, p.req.UserID)
	switch {
	case err == nil:
		userName = u.Username
		if u.Name != "" {
			userName = u.Name + " (" + u.Username + ")"
		}
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("get user: %w", err)
	}
	AllowFormAction(w, r, p.req.RedirectURI)
	h.render(w, r, http.StatusOK, view.Consent(view.ConsentForm{
		RequestID:  p.req.ID,
		CSRFToken:  h.ensureCSRF(w, r),
		ClientName: clientName(p.client),
		UserName:   userName,
		Scopes:     describeScopes(p.req.Scopes),
	}))
	return nil
}

// postConsent records the answer and continues at CallbackURL, which
// answers the application (access_denied after Deny, checklist A20).
func (h *Handler) postConsent(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PostForm.Get("id")
	p, err := h.consentRequest(r, id)
	if err != nil {
		return err
	}
	var granted bool
	switch r.PostForm.Get("action") {
	case "approve":
		granted = true
	case "deny":
	default:
		return fail(http.StatusBadRequest, invalidFormT, chooseAnswerD, nil)
	}
	if granted {
		err := h.store.SaveConsent(ctx, &storage.Consent{
			UserID:    p.req.UserID,
			ClientID:  p.req.ClientID,
			Scopes:    append([]string(nil), p.req.Scopes...),
			GrantedAt: h.now().UTC(),
		})
		if err != nil {
			return fmt.Errorf("save consent: %w", err)
		}
	}
	if err := h.store.SetAuthRequestConsent(ctx, id, granted); err != nil {
		return errRequestUpdate(fmt.Errorf("set auth request consent: %w", err))
	}
	e := storage.AuditEntry{Action: storage.ActionConsentDeny, ActorID: p.req.UserID, Target: "client:" + p.req.ClientID,
		Address: h.clientAddr(r), Detail: "scopes: " + strings.Join(p.req.Scopes, " ")}
	if granted {
		e.Action = storage.ActionConsentGrant
	}
	if u, err := h.store.GetUser(ctx, p.req.UserID); err == nil {
		e.Actor = u.Username
	}
	h.audit.Record(ctx, e, "auth_request", id)
	http.Redirect(w, r, h.callback(id), http.StatusSeeOther)
	return nil
}
