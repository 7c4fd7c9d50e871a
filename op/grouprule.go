package op

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
)

// What a person who is not in a group a client allows is told (English;
// kept as distinct values so a message catalog can replace them).
const (
	notInGroupT = "You do not have access to this application"
	notInGroupD = "Your account is not in a group that may use this application. Ask your administrator for access. You will be sent back to the application."
	// notInGroupDesc is the error_description the client gets.
	notInGroupDesc = "the user is not a member of a group allowed to use this client"
	// refusalSeconds is how long the refusal page is shown before the
	// browser is sent back to the client with access_denied.
	refusalSeconds = "8"
)

// allowedByGroups reports whether u may sign in to c: c names no groups,
// or u is a member of one of them (storage.Client.AllowedGroups).
func allowedByGroups(c *storage.Client, u *storage.User) bool {
	return storage.InAllowedGroups(c.AllowedGroups, u.Groups)
}

// checkGroupRule enforces c's group rule once the person of req is known
// (at /authorize with a live session, and at the callback after sign-in).
// A person who may not use c gets the refusal page (403, the web error
// path) whose Refresh header (HTML Living Standard, "refresh" header) then
// takes the browser to the client with access_denied (RFC 6749
// §4.1.2.1), so both learn of it; with prompt=none there is no page and
// the client gets access_denied at once. The request, if stored, is
// deleted: it cannot be completed. It returns nil when the person may
// continue.
func (p *Provider) checkGroupRule(ctx context.Context, w http.ResponseWriter, c *storage.Client, req *storage.AuthRequest) error {
	if len(c.AllowedGroups) == 0 {
		return nil
	}
	u, err := p.store.GetUser(ctx, req.UserID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return unavailable(err)
	}
	if err == nil && allowedByGroups(c, u) {
		return nil
	}
	_ = p.store.DeleteAuthRequest(ctx, req.ID) // absent on the /authorize fast path
	p.log.InfoContext(ctx, "sign-in refused by the client's group rule", "event", "group_rule_refused",
		"client_id", c.ID, "user_id", req.UserID)
	denied := &clientError{redirectURI: req.RedirectURI, state: req.State, echoState: true,
		e: oidc.ErrAccessDenied().WithDescription(notInGroupDesc)}
	if slices.Contains(req.Prompt, "none") {
		return denied
	}
	target, err := p.errorRedirectURL(req.RedirectURI, req.State, denied.e)
	if err != nil {
		return err
	}
	w.Header().Set("Refresh", refusalSeconds+"; url="+target)
	w.Header().Set("Cache-Control", "no-store")
	return &pageError{status: http.StatusForbidden, title: notInGroupT, detail: notInGroupD}
}

// errorRedirectURL is the redirect URI with the error response of RFC
// 6749 §4.1.2.1 and the RFC 9207 `iss`, as redirectError sends it.
func (p *Provider) errorRedirectURL(redirectURI, state string, e *oidc.Error) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil { // registered URIs are validated at registration
		return "", &pageError{status: http.StatusInternalServerError, title: misconfiguredT, detail: misconfiguredD, err: err}
	}
	q := u.Query()
	q.Set("error", string(e.ErrorType))
	q.Set("error_description", e.Description)
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", p.issuer) // RFC 9207 §2
	u.RawQuery = q.Encode()
	return u.String(), nil
}
