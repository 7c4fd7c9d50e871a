// Package oidc is the connector to an upstream OpenID Provider (Google,
// Entra ID, Okta, Keycloak, another monban): the authorization code flow
// with PKCE, state and nonce (OIDC Core §3.1), the ID token verified with
// the upstream's JWKS.
//
// It uses github.com/coreos/go-oidc/v3 and golang.org/x/oauth2, not
// zitadel's RP package: zitadel/oidc is confined to package op by design,
// and go-oidc does discovery, JWKS caching (refetched on an unknown kid)
// and ID token verification (signature, iss, aud, exp) well.
package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/web/connector"
)

// Connector is a connector.Redirector to an OpenID Provider. Discovery
// happens on first use (Prepare) and is retried after a failure, so a
// provider that is down at start-up does not keep monban from starting.
type Connector struct {
	cfg    connector.Config
	secret string
	client *http.Client

	mu       sync.Mutex
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
	endSess  string // end_session_endpoint from discovery; "" when none
}

var (
	_ connector.Redirector   = (*Connector)(nil)
	_ connector.Preparer     = (*Connector)(nil)
	_ connector.EndSessioner = (*Connector)(nil)
)

// New returns the connector for cfg (of type oidc). client makes every
// call to the upstream; nil: a client with cfg's timeout.
func New(cfg connector.Config, client *http.Client) (*Connector, error) {
	if cfg.Type != connector.TypeOIDC {
		return nil, fmt.Errorf("oidc: connector %s is of type %q", cfg.ID, cfg.Type)
	}
	secret, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.CallTimeout()}
	}
	return &Connector{cfg: cfg, secret: secret, client: client}, nil
}

// Prepare implements connector.Preparer: OpenID Connect Discovery 1.0 §4
// once, bounded by the configured timeout. go-oidc checks that the
// document's issuer is the configured one (§4.3).
func (c *Connector) Prepare(ctx context.Context) error {
	_, _, err := c.discover(ctx)
	return err
}

func (c *Connector) discover(ctx context.Context) (*gooidc.Provider, *gooidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, c.verifier, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout())
	defer cancel()
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, c.client), c.cfg.Issuer)
	if err != nil {
		// Down, slow, a 5xx, or a document that names another issuer
		// (§4.3): the person can only try again later.
		return nil, nil, fmt.Errorf("oidc: discovery of %s: %w: %w", c.cfg.Issuer, connector.ErrUpstreamUnavailable, err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	// The key set keeps the client (and its timeout) for later fetches;
	// the request context only for this one.
	keyCtx := gooidc.ClientContext(context.Background(), c.client)
	c.provider, c.endSess = p, extra.EndSession
	c.verifier = p.VerifierContext(keyCtx, &gooidc.Config{ClientID: c.cfg.ClientID})
	return c.provider, c.verifier, nil
}

func (c *Connector) oauth(p *gooidc.Provider, redirectURI string) *oauth2.Config {
	scopes := c.cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{gooidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(scopes, gooidc.ScopeOpenID) {
		scopes = append([]string{gooidc.ScopeOpenID}, scopes...)
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.secret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURI, Scopes: scopes}
}

// AuthCodeURL implements connector.Redirector: the authorization request
// with state, nonce (OIDC Core §3.1.2.1) and an S256 code challenge
// (RFC 7636 §4.2), plus Google's hd hint for a single hosted domain. ""
// before a successful Prepare.
func (c *Connector) AuthCodeURL(redirectURI, state, nonce, codeVerifier string) string {
	c.mu.Lock()
	p := c.provider
	c.mu.Unlock()
	if p == nil {
		return ""
	}
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(codeVerifier)}
	if len(c.cfg.HostedDomains) == 1 {
		opts = append(opts, oauth2.SetAuthURLParam("hd", c.cfg.HostedDomains[0]))
	}
	return c.oauth(p, redirectURI).AuthCodeURL(state, opts...)
}

// HandleCallback implements connector.Redirector.
func (c *Connector) HandleCallback(ctx context.Context, redirectURI string, query url.Values, nonce, codeVerifier string) (connector.Identity, error) {
	if e := query.Get("error"); e != "" { // RFC 6749 §4.1.2.1
		return connector.Identity{}, fmt.Errorf("oidc: %s answered %q: %w", c.cfg.ID, e, connector.ErrUpstreamRefused)
	}
	code := query.Get("code")
	if code == "" {
		return connector.Identity{}, fmt.Errorf("oidc: callback without a code: %w", connector.ErrInvalidResponse)
	}
	// RFC 9207: an iss on the response must be the upstream's.
	if iss := query.Get("iss"); iss != "" && iss != c.cfg.Issuer {
		return connector.Identity{}, fmt.Errorf("oidc: response from issuer %q: %w", iss, connector.ErrInvalidResponse)
	}
	p, verifier, err := c.discover(ctx)
	if err != nil {
		return connector.Identity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout())
	defer cancel()
	tok, err := c.oauth(p, redirectURI).Exchange(gooidc.ClientContext(ctx, c.client), code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return connector.Identity{}, fmt.Errorf("oidc: token request: %w: %w", connector.ErrUpstreamRefused, err)
		}
		return connector.Identity{}, fmt.Errorf("oidc: token request: %w: %w", connector.ErrUpstreamUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return connector.Identity{}, fmt.Errorf("oidc: token response without an ID token: %w", connector.ErrInvalidResponse)
	}
	idt, err := verifier.Verify(ctx, raw) // signature, iss, aud, exp (OIDC Core §3.1.3.7)
	if err != nil {
		return connector.Identity{}, fmt.Errorf("oidc: ID token: %w: %w", connector.ErrInvalidResponse, err)
	}
	if idt.Nonce != nonce || nonce == "" { // OIDC Core §3.1.3.7 step 11
		return connector.Identity{}, fmt.Errorf("oidc: ID token nonce mismatch: %w", connector.ErrInvalidResponse)
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return connector.Identity{}, fmt.Errorf("oidc: ID token claims: %w: %w", connector.ErrInvalidResponse, err)
	}
	return c.identity(idt.Subject, claims)
}

// identity maps the claims (the configured names, or the standard ones)
// and enforces the hosted-domain and tenant restrictions.
func (c *Connector) identity(sub string, claims map[string]json.RawMessage) (connector.Identity, error) {
	if len(c.cfg.HostedDomains) > 0 && !slices.Contains(c.cfg.HostedDomains, stringClaim(claims, "hd")) {
		return connector.Identity{}, fmt.Errorf("oidc: account of hosted domain %q: %w", stringClaim(claims, "hd"), connector.ErrUpstreamRefused)
	}
	if len(c.cfg.TenantIDs) > 0 && !slices.Contains(c.cfg.TenantIDs, stringClaim(claims, "tid")) {
		return connector.Identity{}, fmt.Errorf("oidc: account of tenant %q: %w", stringClaim(claims, "tid"), connector.ErrUpstreamRefused)
	}
	m := c.cfg.Claims
	id := connector.Identity{
		ConnectorID:   c.cfg.ID,
		Subject:       sub,
		Username:      stringClaim(claims, or(m.Username, "preferred_username")),
		Email:         stringClaim(claims, or(m.Email, "email")),
		EmailVerified: boolClaim(claims, "email_verified"),
		Name:          stringClaim(claims, or(m.Name, "name")),
	}
	if id.Email == "" {
		id.EmailVerified = false
	}
	if m.Groups != "" {
		id.Groups = listClaim(claims, m.Groups)
	}
	if c.cfg.TrustAMR {
		id.AMR = listClaim(claims, "amr")
	}
	return id, nil
}

// EndSessionURL implements connector.EndSessioner (RP-Initiated Logout
// 1.0 §2: client_id identifies monban, since it keeps no ID token hint).
func (c *Connector) EndSessionURL(ctx context.Context, postLogoutRedirectURI string) string {
	if _, _, err := c.discover(ctx); err != nil { // down: monban's own logout is done anyway
		return ""
	}
	c.mu.Lock()
	end := c.endSess
	c.mu.Unlock()
	u, err := url.Parse(end)
	if end == "" || err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", c.cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogoutRedirectURI)
	u.RawQuery = q.Encode()
	return u.String()
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func stringClaim(claims map[string]json.RawMessage, name string) string {
	var s string
	if json.Unmarshal(claims[name], &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// boolClaim reads a boolean, also the string "true" some providers send.
func boolClaim(claims map[string]json.RawMessage, name string) bool {
	var b bool
	if json.Unmarshal(claims[name], &b) == nil {
		return b
	}
	return stringClaim(claims, name) == "true"
}

// listClaim reads an array of strings or a single string, sorted without
// duplicates; empty (not nil) when absent, so the caller knows the
// upstream provides the list.
func listClaim(claims map[string]json.RawMessage, name string) []string {
	var list []string
	if json.Unmarshal(claims[name], &list) != nil {
		if s := stringClaim(claims, name); s != "" {
			list = []string{s}
		}
	}
	out := []string{}
	for _, v := range list {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
