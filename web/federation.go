package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/pending"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/accounts"
	"github.com/monban-idp/monban/web/i18n"
	"github.com/monban-idp/monban/web/view"
)

// Connector is an upstream identity provider people may sign in with
// (issue 18): a button on the sign-in page, GET /connector/{id}/start and
// GET /connector/{id}/callback.
type Connector struct {
	// ID names the connector in URLs and linked identities.
	ID string
	// Names is the display name per language tag ("" the fallback).
	Names map[string]string
	// Redirector talks to the upstream (OpenID Connect, GitHub): the
	// connector is a button on the sign-in page.
	Redirector connector.Redirector
	// Password checks the sign-in form's username and password itself
	// (LDAP); set instead of Redirector. Such a connector has no button
	// (login_directory.go says which password goes where).
	Password connector.PasswordChecker
	// JIT creates a local user at the first sign-in of an identity
	// nobody linked yet.
	JIT bool
	// EndSessionRedirect sends the browser to the upstream's end of
	// session after monban's own logout (when the Redirector is a
	// connector.EndSessioner).
	EndSessionRedirect bool
}

// amrFederated is the amr value of a sign-in at an upstream identity
// provider. It is not among RFC 8176's registered values; OIDC Core §2
// leaves amr values to the parties' agreement, and "fed" is the
// customary one (e.g. Keycloak, Entra ID's "fed" amr value).
const amrFederated = "fed"

// method is the RFC 8176 amr value of a sign-in with the connector. A
// Redirector's person authenticated in the upstream's pages, which monban
// only hears about: "fed". A directory's person typed their password into
// monban's own form, and monban checked it (by an LDAP bind): that is a
// password, RFC 8176 §2 "pwd", exactly as a local password, so acr and the
// second-factor rules treat both alike. "fed" is not added: nothing was
// delegated to another party's authentication.
func (c *Connector) method() string {
	if c.Password != nil {
		return amrPassword
	}
	return amrFederated
}

// Catalog keys of the upstream sign-in's error pages.
const (
	connUnknownT     = "error.connector_unknown.title"
	connUnknownD     = "error.connector_unknown.detail"
	connStateT       = "error.connector_state.title"
	connStateD       = "error.connector_state.detail"
	connRefusedT     = "error.connector_refused.title"
	connRefusedD     = "error.connector_refused.detail"
	connUnavailableT = "error.connector_unavailable.title"
	connUnavailableD = "error.connector_unavailable.detail"
	connInvalidT     = "error.connector_invalid.title"
	connInvalidD     = "error.connector_invalid.detail"
	connNoAccountT   = "error.connector_no_account.title"
	connNoAccountD   = "error.connector_no_account.detail"
	connNoLinkT      = "error.connector_no_link.title"
	connNoLinkD      = "error.connector_no_link.detail"
	connDisabledT    = "error.connector_disabled.title"
	connDisabledD    = "error.connector_disabled.detail"
)

// maxCookieRequest is the longest authorization request reference kept
// in the upstream cookie; a longer sealed request is stored when the
// person leaves for the upstream (a cookie holds about 4 KiB).
const maxCookieRequest = 2048

// upstreamState is what a redirect to an upstream must find again on
// its callback: bound to the browser by the signed cookie, to the
// authorization request, and to the connector.
type upstreamState struct {
	Connector string    `json:"c"`
	Request   string    `json:"r"`
	State     string    `json:"s"` // RFC 6749 §10.12
	Nonce     string    `json:"n"` // OIDC Core §3.1.2.1
	Verifier  string    `json:"v"` // RFC 7636 §4.1
	Expires   time.Time `json:"e"`
}

// connectorRoutes registers the upstream sign-in's pages.
func (h *Handler) connectorRoutes(mux *http.ServeMux) {
	if len(h.connectors) == 0 {
		return
	}
	mux.Handle("GET /connector/{id}/start", h.page(h.serve(h.getConnectorStart)))
	mux.Handle("GET /connector/{id}/callback", h.page(h.serve(h.getConnectorCallback)))
	mux.Handle("GET "+linkPath, h.page(h.serve(h.getLink)))
	mux.Handle("POST "+linkPath, h.page(h.crossOrigin.Handler(h.serve(h.postLink))))
}

// connectorButtons are the sign-in page's buttons for the request.
func (h *Handler) connectorButtons(requestID string) []view.ConnectorButton {
	out := make([]view.ConnectorButton, 0, len(h.connectorOrder))
	for _, c := range h.connectorOrder {
		out = append(out, view.ConnectorButton{ID: c.ID, Names: c.Names,
			URL: "/connector/" + url.PathEscape(c.ID) + "/start?id=" + url.QueryEscape(requestID)})
	}
	return out
}

// callbackURI is the connector's redirect URI, registered at the
// upstream.
func (h *Handler) callbackURI(id string) string {
	return strings.TrimSuffix(h.issuer, "/") + "/connector/" + url.PathEscape(id) + "/callback"
}

// CallbackURI returns the redirect URI to register at the upstream for
// connector id.
func (h *Handler) CallbackURI(id string) string { return h.callbackURI(id) }

func randomValue() string { return storage.NewToken() }

func (h *Handler) getConnectorStart(w http.ResponseWriter, r *http.Request) error {
	c := h.connectors[r.PathValue("id")]
	if c == nil || c.Redirector == nil { // a directory has no pages of its own
		return fail(http.StatusNotFound, connUnknownT, connUnknownD, nil)
	}
	id := r.URL.Query().Get("id")
	p, err := h.loadRequest(r, id)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if pr, ok := c.Redirector.(connector.Preparer); ok {
		if err := pr.Prepare(ctx); err != nil {
			h.auditUpstream(ctx, r, c.ID, "", p, "upstream unreachable at start")
			return upstreamFailure(err)
		}
	}
	ref := id
	if len(id) > maxCookieRequest && pending.IsSealed(id) && h.pending != nil {
		// Too long for the cookie: stored now, under the id it was given.
		req, err := h.pending.Open(id)
		if err != nil {
			return errExpired(err)
		}
		if err := h.store.CreateAuthRequest(ctx, req); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("store auth request for an upstream sign-in: %w", err)
		}
		ref = req.ID
	}
	st := upstreamState{Connector: c.ID, Request: ref, State: randomValue(), Nonce: randomValue(),
		Verifier: randomValue(), Expires: h.now().UTC().Add(upstreamTTL)}
	to := c.Redirector.AuthCodeURL(h.callbackURI(c.ID), st.State, st.Nonce, st.Verifier)
	if to == "" {
		return fail(http.StatusBadGateway, connUnavailableT, connUnavailableD, errors.New("no authorization URL"))
	}
	h.setSigned(w, upstreamCookie, st, upstreamTTL)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

func (h *Handler) getConnectorCallback(w http.ResponseWriter, r *http.Request) error {
	c := h.connectors[r.PathValue("id")]
	if c == nil || c.Redirector == nil { // a directory has no pages of its own
		return fail(http.StatusNotFound, connUnknownT, connUnknownD, nil)
	}
	ctx := r.Context()
	var st upstreamState
	found := h.openSigned(r, upstreamCookie, &st)
	h.clearCookie(w, upstreamCookie) // single use: a replayed callback finds none
	q := r.URL.Query()
	if !found || st.Connector != c.ID || st.State == "" || !h.now().Before(st.Expires) ||
		!hmac.Equal([]byte(q.Get("state")), []byte(st.State)) {
		h.auditUpstream(ctx, r, c.ID, "", nil, "missing, replayed or wrong state")
		return fail(http.StatusBadRequest, connStateT, connStateD, errors.New("upstream callback: bad state"))
	}
	p, err := h.loadRequest(r, st.Request)
	if err != nil {
		return err
	}
	ident, err := c.Redirector.HandleCallback(ctx, h.callbackURI(c.ID), q, st.Nonce, st.Verifier)
	if err != nil {
		h.auditUpstream(ctx, r, c.ID, "", p, upstreamReason(err))
		return upstreamFailure(err)
	}
	ident.ConnectorID = c.ID
	return h.resolveUpstream(w, r, p, c, ident)
}

// resolveUpstream maps the identity to a local user and signs in, or
// sends the person to the link page, or refuses.
func (h *Handler) resolveUpstream(w http.ResponseWriter, r *http.Request, p *pendingRequest, c *Connector, ident connector.Identity) error {
	ctx := r.Context()
	u, created, err := h.accounts.Resolve(ctx, ident, c.JIT)
	switch {
	case errors.Is(err, accounts.ErrLinkRequired):
		h.startLink(w, r, p, ident)
		return nil
	case errors.Is(err, accounts.ErrDisabled):
		h.auditUpstream(ctx, r, c.ID, ident.Subject, p, "linked account disabled")
		return fail(http.StatusForbidden, connDisabledT, connDisabledD, err)
	case err != nil:
		return h.refuseResolution(ctx, r, p, c, ident.Subject, err)
	}
	if created {
		h.auditCreated(ctx, r, p, c, u)
	}
	return h.signInUpstream(w, r, p, c, u, ident)
}

// refuseResolution answers a failed accounts.Resolve that every kind of
// connector refuses alike (the link page and a disabled user are the
// callers'): an audit entry and a page, or the error itself.
func (h *Handler) refuseResolution(ctx context.Context, r *http.Request, p *pendingRequest, c *Connector, subject string, err error) error {
	switch {
	case errors.Is(err, accounts.ErrLinkImpossible):
		h.auditUpstream(ctx, r, c.ID, subject, p, "e-mail belongs to an account without a password: cannot be linked here")
		return fail(http.StatusConflict, connNoLinkT, connNoLinkD, err)
	case errors.Is(err, accounts.ErrNoAccount):
		h.auditUpstream(ctx, r, c.ID, subject, p, "no linked account and just-in-time creation is off")
		return fail(http.StatusForbidden, connNoAccountT, connNoAccountD, err)
	case errors.Is(err, accounts.ErrUnusable):
		h.auditUpstream(ctx, r, c.ID, subject, p, "upstream identity unusable")
		return fail(http.StatusBadRequest, connInvalidT, connInvalidD, err)
	}
	return err
}

// startLink sends the person to the link page, which asks them to prove
// the local account whose e-mail address the identity has.
func (h *Handler) startLink(w http.ResponseWriter, r *http.Request, p *pendingRequest, ident connector.Identity) {
	h.setSigned(w, linkCookie, pendingLink{Binding: bindingOf(p.id), Identity: ident,
		Expires: h.now().UTC().Add(upstreamTTL)}, upstreamTTL)
	http.Redirect(w, r, linkPath+"?id="+url.QueryEscape(p.id), http.StatusSeeOther)
}

// auditCreated writes the audit entry of a just-in-time user.
func (h *Handler) auditCreated(ctx context.Context, r *http.Request, p *pendingRequest, c *Connector, u *storage.User) {
	h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionUpstreamUserCreated, ActorID: u.ID, Actor: u.Username,
		Target: "user:" + u.ID, Address: h.clientAddr(r), Detail: "upstream " + c.ID + " (client " + p.req.ClientID + ")"})
}

// signInUpstream records the identity's use and group memberships and
// moves the sign-in flow on with the connector's method (Connector.method:
// "fed", or "pwd" for a directory), the methods the connector passed on
// (only when trust_amr) and those of extra proof.
func (h *Handler) signInUpstream(w http.ResponseWriter, r *http.Request, p *pendingRequest, c *Connector, u *storage.User, ident connector.Identity, extra ...string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), bookkeepingTimeout)
	defer cancel()
	if err := h.accounts.Finish(ctx, u, ident); err != nil {
		return err
	}
	progress := h.flow.Resume(r, p.id)
	progress.Identify(u.ID)
	progress.Passed(c.method())
	for _, m := range append(ident.AMR, extra...) {
		progress.Passed(m)
	}
	next, s, err := h.flow.Advance(ctx, w, r, progress)
	if err != nil {
		return errRequestUpdate(err)
	}
	if s != nil {
		h.events.SignIn(true)
		h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignIn, ActorID: u.ID, Actor: u.Username,
			Target: "session:" + s.ID, Address: h.clientAddr(r), Detail: "upstream " + c.ID + " (client " + p.req.ClientID + ")"},
			"auth_request", p.req.ID)
	}
	if c.EndSessionRedirect {
		h.setSigned(w, logoutCookie, c.ID, h.sessions.MaxAge())
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// auditUpstream writes the failed upstream sign-in's audit entry.
func (h *Handler) auditUpstream(ctx context.Context, r *http.Request, connectorID, subject string, p *pendingRequest, reason string) {
	h.events.SignIn(false)
	e := storage.AuditEntry{Action: storage.ActionSignInFailed, Address: h.clientAddr(r),
		Detail: "upstream " + connectorID + ": " + reason}
	if subject != "" {
		e.Actor = connectorID + ":" + subject
	}
	var attrs []any
	if p != nil {
		e.Detail += " (client " + p.req.ClientID + ")"
		attrs = []any{"auth_request", p.req.ID}
	}
	h.audit.Record(ctx, e, attrs...)
}

// upstreamReason names a connector failure for the audit trail.
func upstreamReason(err error) string {
	switch {
	case errors.Is(err, connector.ErrUpstreamRefused):
		return "upstream refused"
	case errors.Is(err, connector.ErrUpstreamUnavailable):
		return "upstream unavailable"
	case errors.Is(err, connector.ErrInvalidResponse):
		return "invalid upstream response"
	}
	return "upstream failure"
}

// upstreamFailure is the page for a connector failure; the upstream's
// own text is logged, never shown.
func upstreamFailure(err error) error {
	switch {
	case errors.Is(err, connector.ErrUpstreamRefused):
		return fail(http.StatusForbidden, connRefusedT, connRefusedD, err)
	case errors.Is(err, connector.ErrInvalidResponse):
		return fail(http.StatusBadGateway, connInvalidT, connInvalidD, err)
	}
	return fail(http.StatusServiceUnavailable, connUnavailableT, connUnavailableD, err)
}

// bindingOf is the digest that binds a cookie to an authorization
// request reference (which may be a sealed request too long for a
// cookie).
func bindingOf(requestID string) string {
	sum := sha256.Sum256([]byte("monban upstream binding\x00" + requestID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// LinkedIdentities lists the upstream identities linked to the user for
// a page (the account page, the console's user page), times in the
// page's language and zone.
func (h *Handler) LinkedIdentities(ctx context.Context, userID string) ([]view.LinkedIdentity, error) {
	links, err := h.store.ListUserFederatedIdentities(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list linked identities: %w", err)
	}
	loc := i18n.For(ctx)
	out := make([]view.LinkedIdentity, 0, len(links))
	for _, l := range links {
		li := view.LinkedIdentity{ConnectorID: l.ConnectorID, Subject: l.Subject, Email: l.Email,
			Created: loc.Time(l.CreatedAt), LastUsed: loc.Time(l.LastUsedAt)}
		if c := h.connectors[l.ConnectorID]; c != nil {
			li.Provider = c.Names
		}
		out = append(out, li)
	}
	return out, nil
}
