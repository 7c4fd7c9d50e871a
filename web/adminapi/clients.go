package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// Client is a client as the API shows it (the names of OIDC Dynamic
// Client Registration §2 where it has them; lifetimes in seconds, 0 for
// the provider default). ClientSecret is set only in the answers that
// create or rotate it, the one time it is shown.
type Client struct {
	ID                               string                 `json:"client_id"`
	Name                             string                 `json:"client_name"`
	AuthMethod                       string                 `json:"token_endpoint_auth_method"`
	ApplicationType                  string                 `json:"application_type"`
	RedirectURIs                     []string               `json:"redirect_uris"`
	PostLogoutRedirectURIs           []string               `json:"post_logout_redirect_uris"`
	GrantTypes                       []string               `json:"grant_types"`
	Scope                            string                 `json:"scope"`
	RequireConsent                   bool                   `json:"require_consent"`
	RequireMFA                       bool                   `json:"require_mfa"`
	IDTokenSigningAlg                string                 `json:"id_token_signed_response_alg"`
	AccessTokenTTL                   int64                  `json:"access_token_ttl"`
	IDTokenTTL                       int64                  `json:"id_token_ttl"`
	RefreshTokenTTL                  int64                  `json:"refresh_token_ttl"`
	BackchannelLogoutURI             string                 `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool                   `json:"backchannel_logout_session_required"`
	Disabled                         bool                   `json:"disabled"`
	AllowedGroups                    []string               `json:"allowed_groups"`
	ClaimMappings                    []storage.ClaimMapping `json:"claim_mappings"`
	JWKS                             json.RawMessage        `json:"jwks,omitempty"`
	JWKSURI                          string                 `json:"jwks_uri"`
	RequirePAR                       bool                   `json:"require_pushed_authorization_requests"`
	DPoPBoundAccessTokens            bool                   `json:"dpop_bound_access_tokens"`
	TokenExchangeAudiences           []string               `json:"token_exchange_audiences"`
	Managed                          bool                   `json:"managed"`
	RefreshIDToken                   bool                   `json:"refresh_id_token"` // OIDC Core §12.2
	CreatedAt                        time.Time              `json:"created_at"`
	UpdatedAt                        time.Time              `json:"updated_at"`
	ClientSecret                     string                 `json:"client_secret,omitempty"`
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func clientView(c *storage.Client) Client {
	v := Client{ID: c.ID, Name: c.Name, AuthMethod: c.AuthMethod, ApplicationType: c.ApplicationType,
		RedirectURIs: orEmpty(c.RedirectURIs), PostLogoutRedirectURIs: orEmpty(c.PostLogoutRedirectURIs),
		GrantTypes: orEmpty(c.GrantTypes), Scope: strings.Join(c.Scopes, " "), RequireConsent: c.RequireConsent,
		RequireMFA: c.RequireMFA, IDTokenSigningAlg: c.IDTokenSigningAlg,
		AccessTokenTTL: int64(c.AccessTokenTTL / time.Second), IDTokenTTL: int64(c.IDTokenTTL / time.Second),
		RefreshTokenTTL: int64(c.RefreshTokenTTL / time.Second), BackchannelLogoutURI: c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired, Disabled: c.Disabled,
		AllowedGroups: orEmpty(c.AllowedGroups), ClaimMappings: orEmpty(c.ClaimMappings), JWKSURI: c.JWKSURI,
		RequirePAR: c.RequirePAR, DPoPBoundAccessTokens: c.DPoPBoundAccessTokens,
		TokenExchangeAudiences: orEmpty(c.TokenExchangeAudiences), Managed: c.Managed,
		RefreshIDToken: !c.OmitRefreshIDToken,
		CreatedAt:      c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if c.JWKS != "" && json.Valid([]byte(c.JWKS)) {
		v.JWKS = json.RawMessage(c.JWKS)
	}
	return v
}

// clientTag is a client's ETag: its view and its secret hashes.
func clientTag(c *storage.Client) string {
	return etag(struct {
		V       Client
		S, R, K string
	}{clientView(c), c.SecretHash, c.RegistrationTokenHash, c.JWKS})
}

// ClientWrite is the body of POST /clients (every field optional but
// client_id and client_name; defaults as for the CLI) and of PATCH
// /clients/{id} (a field present replaces the stored value, an absent one
// keeps it; client_id, when present, must equal the path's). Lifetimes
// are in seconds, 0 for the provider default.
type ClientWrite struct {
	ID                               *string                 `json:"client_id"`
	Name                             *string                 `json:"client_name"`
	AuthMethod                       *string                 `json:"token_endpoint_auth_method"`
	ApplicationType                  *string                 `json:"application_type"`
	RedirectURIs                     *[]string               `json:"redirect_uris"`
	PostLogoutRedirectURIs           *[]string               `json:"post_logout_redirect_uris"`
	GrantTypes                       *[]string               `json:"grant_types"`
	Scope                            *string                 `json:"scope"`
	RequireConsent                   *bool                   `json:"require_consent"`
	RequireMFA                       *bool                   `json:"require_mfa"`
	IDTokenSigningAlg                *string                 `json:"id_token_signed_response_alg"`
	AccessTokenTTL                   *int64                  `json:"access_token_ttl"`
	IDTokenTTL                       *int64                  `json:"id_token_ttl"`
	RefreshTokenTTL                  *int64                  `json:"refresh_token_ttl"`
	BackchannelLogoutURI             *string                 `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired *bool                   `json:"backchannel_logout_session_required"`
	Disabled                         *bool                   `json:"disabled"`
	AllowedGroups                    *[]string               `json:"allowed_groups"`
	ClaimMappings                    *[]storage.ClaimMapping `json:"claim_mappings"`
	JWKS                             OptionalJSON            `json:"jwks,omitzero"`
	JWKSURI                          *string                 `json:"jwks_uri"`
	RequirePAR                       *bool                   `json:"require_pushed_authorization_requests"`
	DPoPBoundAccessTokens            *bool                   `json:"dpop_bound_access_tokens"`
	TokenExchangeAudiences           *[]string               `json:"token_exchange_audiences"`
	Managed                          *bool                   `json:"managed"`
	// ClientSecret sets a secret the caller chose (write-only: never
	// shown; see secretProblem for the rules). Absent on POST, the API
	// generates one and shows it once; absent on PATCH, the secret stays.
	ClientSecret   *string `json:"client_secret"`
	RefreshIDToken *bool   `json:"refresh_id_token"`
}

// OptionalJSON is a JSON value of a write body that tells an absent
// field (Set false) from null (Set, Value "null"): encoding/json calls
// UnmarshalJSON for null too, but only on a value that is not a pointer.
type OptionalJSON struct {
	Set   bool
	Value json.RawMessage
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *OptionalJSON) UnmarshalJSON(b []byte) error {
	o.Set, o.Value = true, append(json.RawMessage(nil), b...)
	return nil
}

// MarshalJSON implements json.Marshaler (with omitzero, an unset value
// is left out).
func (o OptionalJSON) MarshalJSON() ([]byte, error) {
	if !o.Set || len(o.Value) == 0 {
		return []byte("null"), nil
	}
	return o.Value, nil
}

// maxTTLSeconds bounds a lifetime before it becomes a time.Duration; the
// policy's ranges are far below it.
const maxTTLSeconds = 1 << 31

// apply sets the fields w carries on c and returns problems the policy
// cannot see (a lifetime out of any range, a jwks that is not JSON).
func (wr *ClientWrite) apply(c *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setB := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setL := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = append([]string(nil), *v...)
		}
	}
	set(&c.Name, wr.Name)
	set(&c.AuthMethod, wr.AuthMethod)
	set(&c.ApplicationType, wr.ApplicationType)
	setL(&c.RedirectURIs, wr.RedirectURIs)
	setL(&c.PostLogoutRedirectURIs, wr.PostLogoutRedirectURIs)
	setL(&c.GrantTypes, wr.GrantTypes)
	if wr.Scope != nil {
		c.Scopes = strings.Fields(*wr.Scope)
	}
	setB(&c.RequireConsent, wr.RequireConsent)
	setB(&c.RequireMFA, wr.RequireMFA)
	set(&c.IDTokenSigningAlg, wr.IDTokenSigningAlg)
	for _, d := range []struct {
		field string
		v     *int64
		dst   *time.Duration
	}{
		{clientpolicy.FieldAccessTokenTTL, wr.AccessTokenTTL, &c.AccessTokenTTL},
		{clientpolicy.FieldIDTokenTTL, wr.IDTokenTTL, &c.IDTokenTTL},
		{clientpolicy.FieldRefreshTokenTTL, wr.RefreshTokenTTL, &c.RefreshTokenTTL},
	} {
		switch {
		case d.v == nil:
		case *d.v < 0 || *d.v > maxTTLSeconds:
			errs.Put(d.field, storage.Problem("policy.client.ttl_seconds", nil, "a lifetime is a number of seconds from 0 to %d", maxTTLSeconds))
		default:
			*d.dst = time.Duration(*d.v) * time.Second
		}
	}
	set(&c.BackchannelLogoutURI, wr.BackchannelLogoutURI)
	setB(&c.BackchannelLogoutSessionRequired, wr.BackchannelLogoutSessionRequired)
	setB(&c.Disabled, wr.Disabled)
	setL(&c.AllowedGroups, wr.AllowedGroups)
	if wr.ClaimMappings != nil {
		c.ClaimMappings = append([]storage.ClaimMapping(nil), *wr.ClaimMappings...)
	}
	if wr.JWKS.Set {
		switch raw := bytes.TrimSpace(wr.JWKS.Value); {
		case len(raw) == 0 || string(raw) == "null":
			c.JWKS = ""
		case raw[0] != '{':
			errs.Put("jwks", storage.Problem("policy.client.jwks_object", nil, "jwks must be a JSON Web Key Set object"))
		default:
			var buf bytes.Buffer
			if json.Compact(&buf, raw) == nil {
				c.JWKS = buf.String()
			}
		}
	}
	set(&c.JWKSURI, wr.JWKSURI)
	setB(&c.RequirePAR, wr.RequirePAR)
	setB(&c.DPoPBoundAccessTokens, wr.DPoPBoundAccessTokens)
	setL(&c.TokenExchangeAudiences, wr.TokenExchangeAudiences)
	setB(&c.Managed, wr.Managed)
	if wr.RefreshIDToken != nil {
		c.OmitRefreshIDToken = !*wr.RefreshIDToken
	}
	return errs
}

// hasSecret reports whether a client authenticates with a secret.
func hasSecret(c *storage.Client) bool {
	return c.AuthMethod == storage.AuthMethodBasic || c.AuthMethod == storage.AuthMethodPost
}

func (h *Handler) listClients(w http.ResponseWriter, r *http.Request, _ *caller) {
	limit, after, ok := page(w, r)
	if !ok {
		return
	}
	rows, err := h.cfg.Store.ListClientsPage(r.Context(), after, limit+1)
	if err != nil {
		h.fail(w, r, "list clients", err)
		return
	}
	rows, more := trim(rows, limit)
	out := List[Client]{Items: []Client{}}
	for _, c := range rows {
		out.Items = append(out.Items, clientView(c))
	}
	if more {
		out.Next = cursor(rows[len(rows)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getClient(w http.ResponseWriter, r *http.Request, _ *caller) {
	c, err := h.cfg.Store.GetClient(r.Context(), r.PathValue("id"))
	if errors.Is(err, storage.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, probNotFound, "No client has this ID.")
		return
	} else if err != nil {
		h.fail(w, r, "get client", err)
		return
	}
	w.Header().Set("ETag", clientTag(c))
	writeJSON(w, http.StatusOK, clientView(c))
}

// validateClient is the one rule set (clientpolicy, as for the console
// and the CLI) plus the groups the rule names existing.
func (h *Handler) validateClient(r *http.Request, st storage.Groups, c *storage.Client, errs storage.FieldErrors) (storage.FieldErrors, error) {
	errs = append(errs, clientpolicy.ValidateClient(c, clientpolicy.AllowPrivateBackchannel(h.cfg.AllowPrivateBackchannel))...)
	if len(errs) > 0 {
		return errs, nil
	}
	fe, err := clientpolicy.CheckAllowedGroups(r.Context(), st, c.AllowedGroups)
	return append(errs, fe...), err
}

func (h *Handler) createClient(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr ClientWrite
	if !decode(w, r, &wr, false) {
		return
	}
	c := &storage.Client{AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		GrantTypes: strings.Split(clientpolicy.DefaultGrants, ","), Scopes: strings.Fields(clientpolicy.DefaultScopes)}
	if wr.ID != nil {
		c.ID = *wr.ID
	}
	errs := wr.apply(c)
	if fe := clientpolicy.CheckClientPrivilege(cl.scopes, nil, c); len(fe) > 0 {
		writeForbidden(w, fe)
		return
	}
	errs, err := h.validateClient(r, h.cfg.Store, c, errs)
	if err != nil {
		h.fail(w, r, "check allowed groups", err)
		return
	}
	if len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	var secret string
	switch {
	case wr.ClientSecret != nil:
		if p := secretProblem(c, *wr.ClientSecret); !p.IsZero() {
			p.Field = FieldClientSecret
			writeInvalid(w, storage.FieldErrors{p})
			return
		}
		c.SecretHash = storage.HashToken(*wr.ClientSecret) // chosen: never echoed
	case hasSecret(c):
		secret = storage.NewToken()
		c.SecretHash = storage.HashToken(secret)
	}
	now := h.now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	err = h.change(r, cl, "client.create", "client:"+c.ID, func(tx storage.Store) (any, any, error) {
		return nil, storage.ClientSnapshot(c), tx.CreateClient(r.Context(), c)
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		writeProblem(w, http.StatusConflict, probConflict, "A client with this ID exists already.")
		return
	} else if err != nil {
		h.fail(w, r, "create client", err)
		return
	}
	v := clientView(c)
	v.ClientSecret = secret
	w.Header().Set("Location", Prefix+"/clients/"+c.ID)
	w.Header().Set("ETag", clientTag(c))
	writeJSON(w, http.StatusCreated, v)
}

// errConsoleClient refuses changes of the console's own client.
var errConsoleClient = errors.New("the console's client")

// updateClientWith changes the client of the path through fn, under its
// row lock, after the If-Match check, with its audit entry; a change the
// caller's scopes may not make (clientpolicy.CheckClientPrivilege, on the
// locked row before and after fn) is refused. It answers every outcome
// but success, which it returns.
func (h *Handler) updateClientWith(w http.ResponseWriter, r *http.Request, cl *caller, action string, fn func(c *storage.Client) error) (*storage.Client, bool) {
	id := r.PathValue("id")
	tags := ifMatch(r)
	now := h.now().UTC()
	var after *storage.Client
	err := h.change(r, cl, action, "client:"+id, func(tx storage.Store) (any, any, error) {
		if id == clientpolicy.ConsoleClientID {
			return nil, nil, errConsoleClient
		}
		var before *storage.Client
		var err error
		after, err = tx.UpdateClient(r.Context(), id, func(c *storage.Client) error {
			if err := checkMatch(tags, clientTag(c)); err != nil {
				return err
			}
			if fe := clientpolicy.CheckClientPrivilege(cl.scopes, c, nil); len(fe) > 0 {
				return &forbidden{fe}
			}
			before = c.Clone()
			if err := fn(c); err != nil {
				return err
			}
			if fe := clientpolicy.CheckClientPrivilege(cl.scopes, before, c); len(fe) > 0 {
				return &forbidden{fe}
			}
			c.UpdatedAt = now
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		return storage.ClientSnapshot(before), storage.ClientSnapshot(after), nil
	})
	var inv *invalid
	var fb *forbidden
	switch {
	case err == nil:
		h.clientChanged(id)
		return after, true
	case errors.As(err, &fb):
		writeForbidden(w, fb.errs)
	case errors.As(err, &inv):
		writeInvalid(w, inv.errs)
	case errors.Is(err, errStale):
		writeStale(w)
	case errors.Is(err, errConsoleClient):
		writeProblem(w, http.StatusConflict, probConflict, "The admin console's own client cannot be changed through the API (the CLI can).")
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, probNotFound, "No client has this ID.")
	default:
		h.fail(w, r, action, err)
	}
	return nil, false
}

func (h *Handler) updateClient(w http.ResponseWriter, r *http.Request, cl *caller) {
	var wr ClientWrite
	if !decode(w, r, &wr, false) {
		return
	}
	id := r.PathValue("id")
	if wr.ID != nil && *wr.ID != id {
		writeInvalid(w, storage.FieldErrors{{Field: clientpolicy.FieldID, Code: "policy.client.id_immutable",
			Message: "a client's ID cannot change"}})
		return
	}
	// Groups are checked before the row lock (the updater must not read
	// the store); a group deleted in between is refused by the store.
	if wr.AllowedGroups != nil {
		fe, err := clientpolicy.CheckAllowedGroups(r.Context(), h.cfg.Store, *wr.AllowedGroups)
		if err != nil {
			h.fail(w, r, "check allowed groups", err)
			return
		}
		if len(fe) > 0 {
			writeInvalid(w, fe)
			return
		}
	}
	c, ok := h.updateClientWith(w, r, cl, "client.update", func(c *storage.Client) error {
		wasSecret, wasPublic := hasSecret(c), c.Public()
		errs := wr.apply(c)
		if hasSecret(c) != wasSecret || c.Public() != wasPublic {
			// A secret is made only at creation and rotation; a public
			// client never gets one by a change of method.
			errs.Put(clientpolicy.FieldAuthMethod, storage.Problem("policy.client.auth_kind_change", nil,
				"a client cannot switch between secret, public and key authentication; create a new client"))
		}
		errs = append(errs, clientpolicy.ValidateClient(c, clientpolicy.AllowPrivateBackchannel(h.cfg.AllowPrivateBackchannel))...)
		if wr.ClientSecret != nil {
			errs.Put(FieldClientSecret, secretProblem(c, *wr.ClientSecret))
		}
		if len(errs) > 0 {
			return &invalid{errs}
		}
		if wr.ClientSecret != nil {
			c.SecretHash = storage.HashToken(*wr.ClientSecret)
		}
		return nil
	})
	if !ok {
		return
	}
	w.Header().Set("ETag", clientTag(c))
	writeJSON(w, http.StatusOK, clientView(c))
}

// Secret is the answer of POST /clients/{id}/secret: the new secret,
// shown this once.
type Secret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// errNoSecret refuses rotating the secret of a client without one.
var errNoSecret = errors.New("client has no secret")

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, cl *caller) {
	if !decode(w, r, &struct{}{}, true) {
		return
	}
	secret := storage.NewToken()
	c, ok := h.updateClientWith(w, r, cl, "client.rotate_secret", func(c *storage.Client) error {
		if !hasSecret(c) {
			return &invalid{storage.FieldErrors{{Field: clientpolicy.FieldAuthMethod, Code: "policy.client.no_secret",
				Message: "the client does not authenticate with a secret"}}}
		}
		c.SecretHash = storage.HashToken(secret)
		return nil
	})
	if !ok {
		return
	}
	w.Header().Set("ETag", clientTag(c))
	writeJSON(w, http.StatusOK, Secret{ClientID: c.ID, ClientSecret: secret})
}

func (h *Handler) deleteClient(w http.ResponseWriter, r *http.Request, cl *caller) {
	id := r.PathValue("id")
	tags := ifMatch(r)
	err := h.change(r, cl, "client.delete", "client:"+id, func(tx storage.Store) (any, any, error) {
		if id == clientpolicy.ConsoleClientID {
			return nil, nil, errConsoleClient
		}
		// The no-op update takes the row lock for the If-Match check; the
		// delete follows in the same transaction.
		before, err := tx.UpdateClient(r.Context(), id, func(c *storage.Client) error {
			if err := checkMatch(tags, clientTag(c)); err != nil {
				return err
			}
			if fe := clientpolicy.CheckClientPrivilege(cl.scopes, c, nil); len(fe) > 0 {
				return &forbidden{fe}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		return storage.ClientSnapshot(before), nil, tx.DeleteClient(r.Context(), id)
	})
	var fb *forbidden
	switch {
	case err == nil:
		h.clientChanged(id)
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &fb):
		writeForbidden(w, fb.errs)
	case errors.Is(err, errStale):
		writeStale(w)
	case errors.Is(err, errConsoleClient):
		writeProblem(w, http.StatusConflict, probConflict, "The admin console's own client cannot be deleted through the API (the CLI can).")
	case errors.Is(err, storage.ErrNotFound):
		writeProblem(w, http.StatusNotFound, probNotFound, "No client has this ID.")
	default:
		h.fail(w, r, "delete client", err)
	}
}

// clientChanged tells Config.ClientChanged about a committed change.
func (h *Handler) clientChanged(id string) {
	if h.cfg.ClientChanged != nil {
		h.cfg.ClientChanged(id)
	}
}
