package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// endpoints are the paths (on the issuer's host) of the endpoints the
// scenarios call, read from the provider's discovery document (OpenID
// Connect Discovery 1.0 §3), so one driver measures providers that lay
// their endpoints out differently (monban: /token; zitadel/oidc's
// example: /oauth/token).
type endpoints struct {
	authorization, token, introspection, userinfo, jwks string
}

// discover reads o.url's discovery document into o.ep and o.origin. Every
// endpoint must be on the issuer's host: the driver's connections go
// there.
func discover(ctx context.Context, o *options) error {
	issuer, err := url.Parse(o.url)
	if err != nil {
		return err
	}
	o.origin = issuer.Scheme + "://" + issuer.Host
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, o.url+"/.well-known/openid-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("discovery: status %d", resp.StatusCode)
	}
	var doc struct {
		Authorization string `json:"authorization_endpoint"`
		Token         string `json:"token_endpoint"`
		Introspection string `json:"introspection_endpoint"`
		Userinfo      string `json:"userinfo_endpoint"`
		JWKS          string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	for _, f := range []struct {
		raw string
		dst *string
	}{{doc.Authorization, &o.ep.authorization}, {doc.Token, &o.ep.token}, {doc.Introspection, &o.ep.introspection},
		{doc.Userinfo, &o.ep.userinfo}, {doc.JWKS, &o.ep.jwks}} {
		if f.raw == "" {
			continue // a scenario that needs it fails by itself
		}
		u, err := url.Parse(f.raw)
		if err != nil || u.Host != issuer.Host {
			return fmt.Errorf("discovery: endpoint %q is not on %s", f.raw, issuer.Host)
		}
		*f.dst = u.Path
	}
	return nil
}
