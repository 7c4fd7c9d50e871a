package adminapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// Prefix is where the API lives.
const Prefix = "/admin/api/v1"

// Store is the part of storage.Store the API uses.
type Store interface {
	storage.Users
	storage.Groups
	storage.Lists
	storage.Clients
	storage.AuditLog
	storage.Atomic
	GetSession(ctx context.Context, id string) (*storage.Session, error)
	ListSigningKeys(ctx context.Context) ([]*storage.SigningKey, error)
}

// ErrInvalidToken is a TokenVerifier's answer for a token that is not a
// live service-account token; any other error is a failure on our side.
var ErrInvalidToken = errors.New("adminapi: invalid token")

// Token is a verified, live service-account access token.
type Token struct {
	ClientID string
	Scopes   []string
	// JKT is the thumbprint of the DPoP key the token is bound to
	// (cnf.jkt, RFC 9449 §6); empty for a bearer token.
	JKT string
}

// TokenVerifier verifies a service account's access token (op's
// signature, expiry and liveness checks, through cmd/internal/app).
type TokenVerifier interface {
	VerifyServiceToken(ctx context.Context, token string) (*Token, error)
}

// DPoPChecker checks the DPoP proof of a request that presents a
// DPoP-bound access token (RFC 9449 §7.1: `Authorization: DPoP`): the
// proof's signature, htm, htu, iat, nonce, jti replay, ath (the token's
// hash) and that its key's thumbprint is jkt. op's resource-side check
// implements it (op.Provider.CheckResourceProof, adapted in
// cmd/internal/app). A refused proof is a *DPoPError; any other error is
// a failure on our side.
type DPoPChecker interface {
	CheckProof(r *http.Request, accessToken, jkt string) error
}

// DPoPError is a DPoPChecker's refusal: Code is an error code of RFC 9449
// §12.2 (invalid_dpop_proof, use_dpop_nonce) or invalid_token, sent in
// the DPoP challenge with Description (public words, no Go error text);
// Nonce, when set, is the server nonce for the DPoP-Nonce header (§9).
type DPoPError struct {
	Code, Description, Nonce string
}

func (e *DPoPError) Error() string { return "adminapi: DPoP proof refused: " + e.Code }

// SessionEnder ends sessions the way the provider does (web/session's
// Manager): refresh tokens revoked, back-channel logout enqueued.
type SessionEnder interface {
	EndSession(ctx context.Context, sessionID, reason string) error
	EndUserSessions(ctx context.Context, userID, reason string) (int, error)
}

// PasswordHasher hashes new passwords (storage/password.Hasher).
type PasswordHasher interface {
	Hash(password string) (string, error)
}

// KeyRotation is what rotating one algorithm's signing keys did.
type KeyRotation struct {
	Algorithm    string
	Rotated      bool
	Retired      string
	Current      string
	Next         string
	PublishedFor time.Duration
	RetryAt      time.Time
}

// KeyRotator rotates the signing keys of every algorithm now (op/keys's
// ForceRotate, through cmd/internal/app).
type KeyRotator interface {
	RotateKeys(ctx context.Context, immediately bool) ([]KeyRotation, error)
}

// Config configures the API. Store and Verifier are required.
type Config struct {
	Store    Store
	Verifier TokenVerifier
	// DPoP checks proofs of DPoP-bound tokens; nil refuses such tokens.
	DPoP DPoPChecker
	// Sessions ends sessions; nil answers 503 where it is needed.
	Sessions SessionEnder
	// Hasher hashes passwords; nil answers 503 where it is needed.
	Hasher PasswordHasher
	// Keys rotates signing keys; nil answers 503 there.
	Keys KeyRotator
	// ClientAddr is the caller's address for the audit trail (the web
	// pages' trusted-proxy rules); nil means the connection's peer.
	ClientAddr func(*http.Request) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives failures and a line per call; nil: slog.Default().
	Logger *slog.Logger
	// ClientChanged, when set, is told the ID of every client the API
	// changed or deleted, after the commit: the provider's client cache
	// (op.Provider.InvalidateClient) then sees a disabled service account
	// or a rotated secret at once on this replica.
	ClientChanged func(id string)
	// AllowPrivateBackchannel accepts back-channel logout URIs on loopback
	// and private addresses (backchannel_allow_private_networks).
	AllowPrivateBackchannel bool
}

// Handler serves the API. Create it with New.
type Handler struct {
	cfg   Config
	now   func() time.Time
	log   *slog.Logger
	audit *storage.AuditRecorder
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("adminapi: Store is required"))
	}
	if cfg.Verifier == nil {
		errs = append(errs, errors.New("adminapi: Verifier is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	h := &Handler{cfg: cfg, now: cfg.Now, log: cfg.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.audit = &storage.AuditRecorder{Log: cfg.Store, Logger: h.log, Now: h.now}
	return h, nil
}

// Access kinds of a route: what a scope must allow.
const (
	read  = false
	write = true
)

// route is one operation of the API.
type route struct {
	method, path string // path below Prefix, in http.ServeMux syntax
	kind         string // "clients", "users", "groups", "sessions", "keys", "audit"
	write        bool
	serve        func(http.ResponseWriter, *http.Request, *caller)
}

// routes is the API; the OpenAPI document lists exactly these.
func (h *Handler) routes() []route {
	return []route{
		{"GET", "/clients", "clients", read, h.listClients},
		{"POST", "/clients", "clients", write, h.createClient},
		{"GET", "/clients/{id}", "clients", read, h.getClient},
		{"PATCH", "/clients/{id}", "clients", write, h.updateClient},
		{"DELETE", "/clients/{id}", "clients", write, h.deleteClient},
		{"POST", "/clients/{id}/secret", "clients", write, h.rotateSecret},
		{"GET", "/users", "users", read, h.listUsers},
		{"POST", "/users", "users", write, h.createUser},
		{"GET", "/users/{id}", "users", read, h.getUser},
		{"PATCH", "/users/{id}", "users", write, h.updateUser},
		{"DELETE", "/users/{id}", "users", write, h.deleteUser},
		{"POST", "/users/{id}/disable", "users", write, h.disableUser},
		{"POST", "/users/{id}/enable", "users", write, h.enableUser},
		{"POST", "/users/{id}/logout", "users", write, h.logoutUser},
		{"GET", "/groups", "groups", read, h.listGroups},
		{"POST", "/groups", "groups", write, h.createGroup},
		{"GET", "/groups/{id}", "groups", read, h.getGroup},
		{"PATCH", "/groups/{id}", "groups", write, h.updateGroup},
		{"DELETE", "/groups/{id}", "groups", write, h.deleteGroup},
		{"GET", "/groups/{id}/members", "groups", read, h.listMembers},
		{"POST", "/groups/{id}/members", "groups", write, h.addMember},
		{"DELETE", "/groups/{id}/members/{user}", "groups", write, h.removeMember},
		{"GET", "/sessions", "sessions", read, h.listSessions},
		{"GET", "/sessions/{id}", "sessions", read, h.getSession},
		{"DELETE", "/sessions/{id}", "sessions", write, h.endSession},
		{"GET", "/keys", "keys", read, h.listKeys},
		{"POST", "/keys/rotate", "keys", write, h.rotateKeys},
		{"GET", "/audit", "audit", read, h.listAudit},
	}
}

// Routes registers the API on mux under Prefix.
func (h *Handler) Routes(mux *http.ServeMux) {
	for _, rt := range h.routes() {
		mux.Handle(rt.method+" "+Prefix+rt.path, h.guard(rt))
	}
	mux.HandleFunc("GET "+Prefix+"/openapi.json", serveOpenAPI)
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No such route (path and method) in the admin API; see "+Prefix+"/openapi.json.")
	})
}

// caller is the service account of a request.
type caller struct {
	clientID string
	scopes   []string
}

// allows reports whether the caller's scopes allow access of the kind
// (write or not) to objects of kind k.
func (c *caller) allows(k string, write bool) bool {
	for _, s := range c.scopes {
		switch {
		case s == clientpolicy.ScopeAdminWrite,
			s == clientpolicy.ScopeAdminRead && !write,
			s == "admin:"+k && slices.Contains([]string{"clients", "users", "groups"}, k):
			return true
		}
	}
	return false
}

// neededScope names the scope a 403 asks for.
func neededScope(rt route) string {
	broad := clientpolicy.ScopeAdminRead
	if rt.write {
		broad = clientpolicy.ScopeAdminWrite
	}
	switch rt.kind {
	case "clients", "users", "groups":
		return broad + " admin:" + rt.kind
	}
	return broad
}

// guard authenticates the call (RFC 6750 §2.1; RFC 9449 §7.1), checks
// the route's scope and logs the call.
func (h *Handler) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		if !c.allows(rt.kind, rt.write) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="monban", error="insufficient_scope", scope=%q`, neededScope(rt)))
			writeProblem(w, http.StatusForbidden, probForbidden, "The access token lacks a scope this operation needs: "+neededScope(rt)+" (any one).")
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rt.serve(rec, r, c)
		h.log.InfoContext(r.Context(), "admin API call", "client_id", c.clientID, "method", r.Method,
			"route", rt.path, "status", rec.status)
	})
}

// authenticate reads and verifies the access token, or answers 401.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	dpop := strings.EqualFold(scheme, "DPoP")
	if token == "" || !strings.EqualFold(scheme, "Bearer") && !dpop {
		// RFC 6750 §3.1, RFC 9449 §7.1: no error code when the request
		// had no token; one challenge per scheme accepted.
		w.Header().Set("WWW-Authenticate", `Bearer realm="monban"`)
		if h.cfg.DPoP != nil {
			w.Header().Add("WWW-Authenticate", `DPoP realm="monban"`)
		}
		writeProblem(w, http.StatusUnauthorized, probUnauthorized, "Send an access token: Authorization: Bearer <token>.")
		return nil, false
	}
	invalid := func(detail string) (*caller, bool) {
		// The challenge of the scheme the token came with (RFC 9449 §7.1).
		if dpop {
			w.Header().Set("WWW-Authenticate", `DPoP realm="monban", error="invalid_token"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="monban", error="invalid_token"`)
		}
		writeProblem(w, http.StatusUnauthorized, probInvalidToken, detail)
		return nil, false
	}
	t, err := h.cfg.Verifier.VerifyServiceToken(r.Context(), token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return invalid("The access token is invalid, expired, revoked or not a service account's.")
	case err != nil:
		h.log.ErrorContext(r.Context(), "admin API: verify token", "err", err)
		writeProblem(w, http.StatusServiceUnavailable, probUnavailable, "The token could not be checked now; try again later.")
		return nil, false
	}
	switch {
	case t.JKT == "" && dpop:
		return invalid("The access token is not DPoP-bound; send it as Authorization: Bearer.")
	case t.JKT != "" && !dpop:
		// RFC 9449 §7.1: a DPoP-bound token is never accepted as a bearer token.
		return invalid("The access token is DPoP-bound; send it as Authorization: DPoP with a proof.")
	case t.JKT != "" && h.cfg.DPoP == nil:
		return invalid("DPoP-bound access tokens are not accepted by this server.")
	case t.JKT != "":
		err := h.cfg.DPoP.CheckProof(r, token, t.JKT)
		var de *DPoPError
		switch {
		case errors.As(err, &de):
			if de.Nonce != "" {
				w.Header().Set("DPoP-Nonce", de.Nonce)
			}
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP realm="monban", error=%q, error_description=%q`, de.Code, de.Description))
			writeProblem(w, http.StatusUnauthorized, probInvalidToken, "The DPoP proof was refused ("+de.Code+"): "+de.Description+".")
			return nil, false
		case err != nil:
			h.log.ErrorContext(r.Context(), "admin API: check DPoP proof", "err", err)
			writeProblem(w, http.StatusServiceUnavailable, probUnavailable, "The token could not be checked now; try again later.")
			return nil, false
		}
	}
	return &caller{clientID: t.ClientID, scopes: t.Scopes}, true
}

// statusRecorder remembers the status a handler wrote, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// entry is the audit entry of a change made through the API.
func (h *Handler) entry(r *http.Request, c *caller, action, target string) storage.AuditEntry {
	addr := r.RemoteAddr
	if h.cfg.ClientAddr != nil {
		addr = h.cfg.ClientAddr(r)
	}
	return storage.AuditEntry{ActorID: "client:" + c.clientID, Actor: c.clientID, Address: addr,
		Action: action, Target: target, Detail: "admin API"}
}

// change applies a change with its audit entry in one transaction
// (storage.AuditRecorder.Change, as the console does).
func (h *Handler) change(r *http.Request, c *caller, action, target string, apply func(tx storage.Store) (before, after any, err error)) error {
	return h.audit.Change(r.Context(), h.cfg.Store, h.entry(r, c, action, target), apply)
}

// record writes the audit entry of a change already made elsewhere (a
// session ended by the session owner, keys rotated).
func (h *Handler) record(r *http.Request, c *caller, action, target string, before, after any) error {
	e := h.entry(r, c, action, target)
	e.Before, e.After = storage.SnapshotJSON(before), storage.SnapshotJSON(after)
	return h.audit.RecordChange(r.Context(), e)
}

// fail answers a failure on our side: logged, never shown.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "admin API: "+op, "err", err)
	writeProblem(w, http.StatusServiceUnavailable, probUnavailable, "The server could not complete the request; try again later.")
}
