package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/accounts"
)

// The sign-in form's password goes to exactly one place per attempt, the
// choice Keycloak's LDAP federation and Dex's LDAP connector make:
//
//   - a local user linked to a directory identity: that directory (or
//     those, in the configured order); its local password, if any, no
//     longer counts;
//   - a local user with a local password and no directory link: the
//     local password, never a directory;
//   - no local user of that name, or one without a password (created at
//     an upstream sign-in): the directories, in the configured order,
//     until one knows the username and the password.
//
// So an attempt is never checked twice (locally, then against the
// directory on failure), and the answers do not tell which way it went:
// a wrong password or an unknown username gets the same page either way,
// under the same throttle (counted before the choice), and the argon2id
// effort of a local check is spent alongside a directory check so the
// time taken hides the way as far as the directory's own round trip
// allows. The directory's identity then resolves through the accounts
// package like any upstream's: its link, just-in-time creation per
// connector, or the link page when the e-mail address belongs to a
// local account; its groups are synchronised at each sign-in.

// directoryUnavailableT and directoryUnavailableD are the catalog keys of
// the page for a directory that did not answer in time.
const (
	directoryUnavailableT = "error.directory_unavailable.title"
	directoryUnavailableD = "error.directory_unavailable.detail"
)

// directoriesFor returns the directories that check the password of
// user (nil for an unknown username), or nil when the local password
// decides (see above).
func (h *Handler) directoriesFor(ctx context.Context, user *storage.User) ([]*Connector, error) {
	if len(h.directories) == 0 {
		return nil, nil
	}
	if user == nil {
		return h.directories, nil
	}
	links, err := h.store.ListUserFederatedIdentities(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("list linked identities: %w", err)
	}
	var linked []*Connector
	for _, d := range h.directories {
		if slices.ContainsFunc(links, func(l *storage.FederatedIdentity) bool { return l.ConnectorID == d.ID }) {
			linked = append(linked, d)
		}
	}
	switch {
	case len(linked) > 0:
		return linked, nil
	case user.PasswordHash != "":
		return nil, nil
	}
	return h.directories, nil
}

// directorySignIn checks username and password against dirs and signs
// in as the local user of the identity, or answers as a local password
// sign-in would (checklist S10, S11): a wrong password or an unknown
// username is the sign-in form with the one generic message, and so is
// a directory identity linked to a disabled user. A directory that did
// not answer gets a page saying so, and an audit entry; the attempt stays
// counted. user is the local user of that username, or nil.
func (h *Handler) directorySignIn(w http.ResponseWriter, r *http.Request, p *pendingRequest, att *attempt,
	dirs []*Connector, user *storage.User, username, password string) error {
	// The check runs to its end (bounded by the connector's timeout) even
	// when the browser leaves, so its outcome is recorded either way.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bookkeepingTimeout)
	defer cancel()
	dummy := make(chan struct{})
	go func() {
		defer close(dummy)
		h.hasher.VerifyDummy(password) // the local check's effort, see above
	}()
	c, ident, err := checkDirectories(ctx, dirs, username, password)
	<-dummy
	addr := h.clientAddr(r)
	if err != nil {
		h.events.SignIn(false)
		reason := "directory: unknown user or wrong password"
		if !errors.Is(err, connector.ErrInvalidCredentials) {
			reason = "directory " + c.ID + ": " + upstreamReason(err)
		}
		h.recordFailure(ctx, att, username, addr, user, reason, p.req)
		switch {
		case errors.Is(err, connector.ErrInvalidCredentials):
			h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
			return nil
		case errors.Is(err, connector.ErrUpstreamUnavailable):
			return fail(http.StatusServiceUnavailable, directoryUnavailableT, directoryUnavailableD, err)
		}
		return fail(http.StatusBadGateway, connInvalidT, connInvalidD, err)
	}
	u, created, err := h.accounts.Resolve(ctx, ident, c.JIT)
	switch {
	case errors.Is(err, accounts.ErrLinkRequired):
		h.startLink(w, r, p, ident)
		return nil
	case errors.Is(err, accounts.ErrDisabled):
		h.events.SignIn(false)
		h.recordFailure(ctx, att, username, addr, user, "directory "+c.ID+": linked account disabled", p.req)
		h.renderLogin(w, r, http.StatusUnauthorized, p, username, badCredentials)
		return nil
	case err != nil:
		return h.refuseResolution(ctx, r, p, c, ident.Subject, err)
	}
	h.clearAttempts(ctx, username, addr)
	if created {
		h.auditCreated(ctx, r, p, c, u)
	}
	return h.signInUpstream(w, r, p, c, u, ident)
}

// checkDirectories asks dirs in order and returns the first identity
// whose password is right. When none is, the error wraps
// connector.ErrInvalidCredentials, unless a directory failed otherwise
// (it did not answer, or answered something unusable): then the person
// may be in that directory, and its error is returned with it.
func checkDirectories(ctx context.Context, dirs []*Connector, username, password string) (*Connector, connector.Identity, error) {
	var failed *Connector
	var failure error
	for _, d := range dirs {
		ident, err := d.Password.CheckPassword(ctx, username, password)
		if err == nil {
			ident.ConnectorID = d.ID
			return d, ident, nil
		}
		if !errors.Is(err, connector.ErrInvalidCredentials) && failure == nil {
			failed, failure = d, err
		}
	}
	if failure != nil {
		return failed, connector.Identity{}, fmt.Errorf("directory %s: %w", failed.ID, failure)
	}
	return nil, connector.Identity{}, connector.ErrInvalidCredentials
}
