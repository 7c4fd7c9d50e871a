package main

import (
	"context"
	"fmt"
	"github.com/monban-idp/monban/cmd/internal/app"
	"io"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// demoCredentials is what `serve --dev` prints so a newcomer can sign in.
type demoCredentials struct {
	Username, Password string
	Clients            []demoClient
}

type demoClient struct {
	ID, Secret, RedirectURI string
}

// demoClients are two confidential web apps on two different hosts, to
// show single sign-on across domains (make demo runs apps there), and a
// public native client for command-line tools using PKCE on loopback.
var demoClients = []storage.Client{
	{ID: "demo-app-1", Name: "Demo App One", RedirectURIs: []string{"http://app1.localhost:9001/callback"},
		PostLogoutRedirectURIs: []string{"http://app1.localhost:9001/"}},
	{ID: "demo-app-2", Name: "Demo App Two", RedirectURIs: []string{"http://app2.localhost:9002/callback"},
		PostLogoutRedirectURIs: []string{"http://app2.localhost:9002/"}},
	{ID: "demo-cli", Name: "Demo CLI", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationNative,
		RedirectURIs: []string{"http://127.0.0.1/callback"}},
}

// seedDemo creates the demo user (with a fresh random password) and the
// demo clients (with fresh secrets) in a development store.
func seedDemo(ctx context.Context, store storage.Store) (*demoCredentials, error) {
	now := time.Now().UTC()
	creds := &demoCredentials{Username: "demo", Password: storage.NewToken()[:16]}
	hash, err := app.NewHasher().Hash(creds.Password)
	if err != nil {
		return nil, err
	}
	err = store.CreateUser(ctx, &storage.User{
		ID: storage.NewID(), Username: creds.Username, Email: "demo@example.com", EmailVerified: true,
		Name: "Demo User", GivenName: "Demo", FamilyName: "User", PasswordHash: hash,
		Admin: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("seed demo user: %w", err)
	}
	for _, c := range demoClients {
		c.GrantTypes = []string{"authorization_code", "refresh_token"}
		c.Scopes = []string{"openid", "profile", "email", "offline_access"}
		c.CreatedAt, c.UpdatedAt = now, now
		if c.ApplicationType == "" {
			c.ApplicationType = storage.ApplicationWeb
		}
		dc := demoClient{ID: c.ID, RedirectURI: c.RedirectURIs[0]}
		if c.AuthMethod == "" {
			c.AuthMethod = storage.AuthMethodBasic
			dc.Secret = storage.NewToken()
			c.SecretHash = storage.HashToken(dc.Secret)
		}
		// The demo clients obey the rules an operator's do (client add,
		// the console), so what the demo shows can be registered.
		if err := clientpolicy.ValidateClient(&c); len(err) > 0 {
			return nil, fmt.Errorf("seed client %s: %w", c.ID, err)
		}
		if err := store.CreateClient(ctx, &c); err != nil {
			return nil, fmt.Errorf("seed client %s: %w", c.ID, err)
		}
		creds.Clients = append(creds.Clients, dc)
	}
	return creds, nil
}

// printDemo prints how to use the development server; management is the
// management listener's address ("" when it is off).
func printDemo(w io.Writer, issuer, management string, c *demoCredentials) {
	fmt.Fprintf(w, "\nmonban development server (in-memory store: everything is lost on exit)\n\n")
	fmt.Fprintf(w, "  issuer      %s\n  discovery   %s/.well-known/openid-configuration\n", issuer, issuer)
	fmt.Fprintf(w, "  admin       %s/admin\n", issuer)
	switch {
	case management == "":
		fmt.Fprintf(w, "  management  off\n\n")
	case strings.HasPrefix(management, ":"):
		fmt.Fprintf(w, "  management  http://localhost%s/readyz (also /healthz, /metrics)\n\n", management)
	default:
		fmt.Fprintf(w, "  management  http://%s/readyz (also /healthz, /metrics)\n\n", management)
	}
	fmt.Fprintf(w, "  sign in as  username %q  password %q  (an administrator: the console at /admin)\n\n", c.Username, c.Password)
	for _, dc := range c.Clients {
		if dc.Secret == "" {
			fmt.Fprintf(w, "  client %-11s public (PKCE)  redirect %s (any port)\n", dc.ID, dc.RedirectURI)
			continue
		}
		fmt.Fprintf(w, "  client %-11s secret %s  redirect %s\n", dc.ID, dc.Secret, dc.RedirectURI)
	}
	fmt.Fprintln(w)
}
