package op

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// Dynamic client registration (RFC 7591) and management (RFC 7592), when
// Config.DynamicRegistration.
//
// POST PathRegistration registers a client; the request carries an
// initial access token (RFC 7591 §3) issued by an operator ("monban
// client registration-token"), limited in uses and time. The metadata
// passes the same client policy (storage/clientpolicy) as the CLI and
// the console. Dynamically registered clients are third-party: they
// always need the person's consent. The answer carries the client
// secret (shown once; only its hash is kept) and a registration access
// token (RFC 7592 §3; only its hash is kept, in the client's
// RegistrationTokenHash), which alone reads, replaces and deletes that
// one client at PathRegistration/{client_id}. The registration access
// token is not rotated on update: the one presented stays valid and is
// returned again.
//
// Every registration, update and deletion is audited (actions
// client.register, client.register_update, client.register_delete),
// atomically with the change.
const (
	// PathRegistration is the client registration endpoint (RFC 7591 §3).
	PathRegistration = "/register"
	// maxRegistrationBody bounds a registration request body.
	maxRegistrationBody = 64 << 10
)

// Audit actions of dynamic registration (category client, like the
// console's client changes).
const (
	actionClientRegister       = "client.register"
	actionClientRegisterUpdate = "client.register_update"
	actionClientRegisterDelete = "client.register_delete"
)

// registrationRoutes registers the endpoints on mux.
func (p *Provider) registrationRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+PathRegistration, p.serveRegister)
	mux.HandleFunc("GET "+PathRegistration+"/{id}", p.serveRegistrationRead)
	mux.HandleFunc("PUT "+PathRegistration+"/{id}", p.serveRegistrationUpdate)
	mux.HandleFunc("DELETE "+PathRegistration+"/{id}", p.serveRegistrationDelete)
}

// writeRegistrationError answers an error of RFC 7591 §3.2.2 (or RFC
// 6750 §3.1 invalid_token with 401 and WWW-Authenticate).
func writeRegistrationError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, description})
}

// writeUnauthorized answers a missing or unusable bearer token (RFC 6750 §3.1).
func writeUnauthorized(w http.ResponseWriter) {
	writeRegistrationError(w, http.StatusUnauthorized, "invalid_token", "the access token is missing, invalid, expired or used up")
}

// failRegistration answers err: a *metadataError as 400 with its code;
// anything else is a store failure, logged, and answered 503.
func (p *Provider) failRegistration(ctx context.Context, w http.ResponseWriter, err error) {
	var me *metadataError
	if errors.As(err, &me) {
		writeRegistrationError(w, http.StatusBadRequest, me.code, me.description)
		return
	}
	p.log.Log(ctx, failureLevel(err), "client registration failure", "error", err)
	writeRegistrationError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the service is temporarily unavailable")
}

// registrationBearer is the token of an `Authorization: Bearer` header (RFC
// 6750 §2.1; the scheme is case-insensitive), or "".
func registrationBearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// readMetadata reads and decodes a JSON registration request body.
func readMetadata(w http.ResponseWriter, r *http.Request) (*registrationRequest, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, invalidMetadata("the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBody))
	if err != nil {
		return nil, invalidMetadata("the body is too large or could not be read")
	}
	return decodeRegistration(body)
}

// policyOptions are the deployment settings the client policy needs.
func (p *Provider) policyOptions() []clientpolicy.Option {
	return []clientpolicy.Option{clientpolicy.AllowPrivateBackchannel(p.cfg.AllowPrivateJWKS)}
}

// serveRegister registers a client (RFC 7591 §3).
func (p *Provider) serveRegister(w http.ResponseWriter, r *http.Request) {
	ctx, now := r.Context(), p.now()
	initial := storage.HashToken(registrationBearer(r))
	if registrationBearer(r) == "" {
		writeUnauthorized(w)
		return
	}
	if _, err := p.cfg.Store.GetInitialAccessToken(ctx, initial, now); errors.Is(err, storage.ErrNotFound) {
		writeUnauthorized(w)
		return
	} else if err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	req, err := readMetadata(w, r)
	if err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	if req.ClientID != "" || req.ClientSecret != "" {
		p.failRegistration(ctx, w, invalidMetadata("client_id and client_secret are assigned by the server"))
		return
	}
	cl := &storage.Client{ID: storage.NewID(), RequireConsent: true, CreatedAt: now, UpdatedAt: now}
	if err := applyMetadata(cl, &req.clientMetadata); err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	if err := policyMetadataError(clientpolicy.ValidateClient(cl, p.policyOptions()...)); err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	secret := newSecretFor(cl)
	regToken := storage.NewToken()
	cl.RegistrationTokenHash = storage.HashToken(regToken)
	err = p.cfg.Store.Atomically(ctx, func(tx storage.Store) error {
		if _, err := tx.UseInitialAccessToken(ctx, initial, now); err != nil {
			return err
		}
		if err := tx.CreateClient(ctx, cl); err != nil {
			return err
		}
		return p.auditRegistration(ctx, tx, actionClientRegister, cl, true)
	})
	if errors.Is(err, storage.ErrNotFound) { // the token's last use went to another request
		writeUnauthorized(w)
		return
	} else if err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	p.writeRegistration(w, http.StatusCreated, cl, secret, regToken)
}

// newSecretFor gives cl a new secret if its method uses one, and returns
// it ("" for public and private_key_jwt clients, which have none).
func newSecretFor(cl *storage.Client) string {
	if cl.Public() || cl.AuthMethod == storage.AuthMethodPrivateKeyJWT {
		cl.SecretHash = ""
		return ""
	}
	secret := storage.NewToken()
	cl.SecretHash = storage.HashToken(secret)
	return secret
}

// auditRegistration records a registration change in tx.
func (p *Provider) auditRegistration(ctx context.Context, tx storage.Store, action string, cl *storage.Client, after bool) error {
	e := storage.AuditEntry{Action: action, Target: "client:" + cl.ID, Detail: "dynamic client registration"}
	if after {
		if b, err := json.Marshal(metadataOf(cl)); err == nil {
			e.After = string(b)
		}
	}
	rec := storage.AuditRecorder{Log: tx, Logger: p.log, Now: p.now}
	return rec.RecordChange(ctx, e)
}

// writeRegistration answers the client information response (RFC 7591
// §3.2.1, RFC 7592 §3) with Cache-Control: no-store (it carries secrets).
func (p *Provider) writeRegistration(w http.ResponseWriter, status int, cl *storage.Client, secret, regToken string) {
	resp := registrationResponse{
		ClientID: cl.ID, ClientSecret: secret, ClientIDIssuedAt: cl.CreatedAt.Unix(),
		RegistrationAccessToken: regToken, RegistrationClientURI: p.issuer + PathRegistration + "/" + cl.ID,
		clientMetadata: metadataOf(cl),
	}
	if cl.SecretHash != "" {
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// registeredClient authenticates a request to the client configuration
// endpoint (RFC 7592 §2): the client of the path, registered
// dynamically, and the registration access token of that client,
// compared by hash in constant time. A token never works for another
// client, and an unknown client looks like a wrong token (§2.1: 401).
// The store is read directly, not through the client cache, so that a
// change made on another replica is seen at once.
func (p *Provider) registeredClient(w http.ResponseWriter, r *http.Request) (*storage.Client, string, bool) {
	ctx := r.Context()
	tok := registrationBearer(r)
	if tok == "" {
		writeUnauthorized(w)
		return nil, "", false
	}
	cl, err := p.cfg.Store.GetClient(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeUnauthorized(w)
		return nil, "", false
	case err != nil:
		p.failRegistration(ctx, w, err)
		return nil, "", false
	case !registrationTokenMatches(cl, tok):
		writeUnauthorized(w)
		return nil, "", false
	}
	return cl, tok, true
}

// registrationTokenMatches reports whether tok is cl's registration
// access token, in constant time.
func registrationTokenMatches(cl *storage.Client, tok string) bool {
	return cl.RegistrationTokenHash != "" &&
		subtle.ConstantTimeCompare([]byte(storage.HashToken(tok)), []byte(cl.RegistrationTokenHash)) == 1
}

// serveRegistrationRead is the client read request (RFC 7592 §2.1). The
// secret is not returned: only its hash is kept.
func (p *Provider) serveRegistrationRead(w http.ResponseWriter, r *http.Request) {
	cl, tok, ok := p.registeredClient(w, r)
	if !ok {
		return
	}
	p.writeRegistration(w, http.StatusOK, cl, "", tok)
}
