package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// scopeOfflineAccess lets a client get refresh tokens that outlive the
// browser session (OIDC Core §11): they survive logout, but not "log out
// everywhere", disabling the user or a password change.
const scopeOfflineAccess = "offline_access"

// client runs "monban client add|update|list|show|delete|rotate-secret|registration-token".
func (c *cli) client(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "client", args,
		subcmd{"add", c.clientAdd},
		subcmd{"update", c.clientUpdate},
		subcmd{"list", c.clientList},
		subcmd{"show", c.clientShow},
		subcmd{"delete", c.clientDelete},
		subcmd{"rotate-secret", c.clientRotateSecret},
		subcmd{"registration-token", c.clientRegistrationToken},
	)
}

// clientJSON is a client as "--output json" prints it. It never carries
// the secret hash; ClientSecret is set only by add and rotate-secret.
type clientJSON struct {
	ClientID                string    `json:"client_id"`
	ClientSecret            string    `json:"client_secret,omitempty"`
	Name                    string    `json:"name"`
	RedirectURIs            []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string  `json:"post_logout_redirect_uris"`
	GrantTypes              []string  `json:"grant_types"`
	Scopes                  []string  `json:"scopes"`
	TokenEndpointAuthMethod string    `json:"token_endpoint_auth_method"`
	ApplicationType         string    `json:"application_type"`
	RequireConsent          bool      `json:"require_consent"`
	RequireMFA              bool      `json:"require_mfa"`
	RequirePAR              bool      `json:"require_pushed_authorization_requests"`
	DPoPBound               bool      `json:"dpop_bound_access_tokens"` // RFC 9449 §5.2
	RefreshIDToken          bool      `json:"refresh_id_token"`         // OIDC Core §12.2
	BackchannelLogoutURI    string    `json:"backchannel_logout_uri"`
	AccessTokenTTLSeconds   int64     `json:"access_token_ttl_seconds"`  // 0: the provider default
	RefreshTokenTTLSeconds  int64     `json:"refresh_token_ttl_seconds"` // 0: the provider default
	IDTokenSignedAlg        string    `json:"id_token_signed_response_alg"`
	CreatedAt               time.Time `json:"created_at"`
	// Issue 15: the group rule and the claim mapping.
	AllowedGroups []string               `json:"allowed_groups"`
	ClaimMappings []storage.ClaimMapping `json:"claim_mappings"`
	// Issue 19: the audiences of token exchange (RFC 8693).
	TokenExchangeAudiences []string `json:"token_exchange_audiences"`
}

func toClientJSON(cl *storage.Client) clientJSON {
	return clientJSON{
		ClientID:                cl.ID,
		Name:                    cl.Name,
		RedirectURIs:            nonNil(cl.RedirectURIs),
		PostLogoutRedirectURIs:  nonNil(cl.PostLogoutRedirectURIs),
		GrantTypes:              nonNil(cl.GrantTypes),
		Scopes:                  nonNil(cl.Scopes),
		TokenEndpointAuthMethod: cl.AuthMethod,
		ApplicationType:         cl.ApplicationType,
		RequireConsent:          cl.RequireConsent,
		RequireMFA:              cl.RequireMFA,
		RequirePAR:              cl.RequirePAR,
		DPoPBound:               cl.DPoPBoundAccessTokens,
		RefreshIDToken:          !cl.OmitRefreshIDToken,
		BackchannelLogoutURI:    cl.BackchannelLogoutURI,
		AccessTokenTTLSeconds:   int64(cl.AccessTokenTTL / time.Second),
		RefreshTokenTTLSeconds:  int64(cl.RefreshTokenTTL / time.Second),
		IDTokenSignedAlg:        cmp.Or(cl.IDTokenSigningAlg, "RS256"),
		CreatedAt:               cl.CreatedAt.UTC(),
		AllowedGroups:           nonNil(cl.AllowedGroups),
		ClaimMappings:           append([]storage.ClaimMapping{}, cl.ClaimMappings...),
		TokenExchangeAudiences:  nonNil(cl.TokenExchangeAudiences),
	}
}

// stringList is a repeatable string flag.
type stringList []string

// String implements flag.Value.
func (l *stringList) String() string { return strings.Join(*l, " ") }

// Set implements flag.Value: each use of the flag adds one value.
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func (c *cli) clientAdd(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client add", "--id ID --name NAME --redirect-uri URI... [--post-logout-redirect-uri URI...] [--public] [--native] [--consent] [--require-mfa] [--require-par] [--grant G,G] [--scope \"S S\"] [--offline-access] [--backchannel-logout-uri URI] [--access-token-ttl D] [--refresh-token-ttl D] [--id-token-alg ALG] [--auth-method METHOD] [--jwks-file F | --jwks-uri URL] [--token-exchange-audience URL...] [--allowed-group NAME...] [--claim-mapping CLAIM=ATTR[@SCOPE]...] [--service-account] [--output json]", true)
	fs := cmd.fs
	id := fs.String("id", "", "client `ID` (required)")
	serviceAccount := fs.Bool("service-account", false,
		"a service account for the admin API: confidential, client_credentials only, --scope admin:read unless given (admin:write, admin:clients, admin:users, admin:groups)")
	public := fs.Bool("public", false, "public client: no secret (the same as --auth-method none), PKCE required")
	native := fs.Bool("native", false, "native application (loopback port exception, private-use URI schemes)")
	cf := addClientFlags(fs, false)
	pf := addPeopleClientFlags(fs)   // issue 15: --allowed-group, --claim-mapping
	kf := addKeyClientFlags(fs)      // issue 19: --jwks-file, --jwks-uri
	xf := addExchangeClientFlags(fs) // issue 19: --token-exchange-audience
	_, js, err := cmd.parse(args, 0)
	if err != nil {
		return err
	}
	switch {
	case *id == "":
		return usagef("--id is required")
	case *cf.name == "":
		return usagef("--name is required")
	case *public && *cf.authMethod != "" && *cf.authMethod != storage.AuthMethodNone:
		return usagef("--public means --auth-method none, not %s", *cf.authMethod)
	case *serviceAccount && *public:
		return usagef("--service-account needs a secret: it cannot be --public")
	}

	cl := &storage.Client{ID: *id, AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb}
	if *public {
		cl.AuthMethod = storage.AuthMethodNone
	}
	if *native {
		cl.ApplicationType = storage.ApplicationNative
	}
	visited := flagsSet(fs)
	// Flags not given apply their defaults, except these two: without
	// them the client keeps what --public and the scope list decided.
	cf.apply(cl, func(name string) bool { return visited[name] || (name != "offline-access" && name != "auth-method") })
	if err := pf.apply(cl, func(name string) bool { return visited[name] }); err != nil {
		return err
	}
	if err := kf.load(func(name string) bool { return visited[name] }, c.stdin); err != nil {
		return err
	}
	kf.apply(cl, func(name string) bool { return visited[name] })
	if *serviceAccount {
		if visited["grant"] {
			return usagef("--service-account sets the grant (client_credentials): drop --grant")
		}
		// Issue 20: the admin API's callers (clientpolicy.IsServiceAccount).
		cl.GrantTypes = []string{"client_credentials"}
		if !visited["scope"] {
			cl.Scopes = []string{clientpolicy.ScopeAdminRead}
		}
	}
	xf.apply(cl, func(name string) bool { return visited[name] })
	opts, err := c.clientPolicyOptions(cmd.cf)
	if err != nil {
		return err
	}
	if err := flagErrors(clientpolicy.ValidateClient(cl, opts...), clientFlagOf); err != nil {
		return err
	}
	var secret string
	if !cl.Public() && cl.AuthMethod != storage.AuthMethodPrivateKeyJWT {
		secret = storage.NewToken()
		cl.SecretHash = storage.HashToken(secret)
	}
	t := now()
	cl.CreatedAt, cl.UpdatedAt = t, t

	return cmd.withStore(ctx, func(st storage.Store) error {
		if err := checkAllowedGroups(ctx, st, cl.AllowedGroups); err != nil {
			return err
		}
		if err := st.CreateClient(ctx, cl); err != nil {
			if errors.Is(err, storage.ErrAlreadyExists) {
				return fmt.Errorf("client %q already exists", cl.ID)
			}
			return dbError(err)
		}
		if js {
			out := toClientJSON(cl)
			out.ClientSecret = secret
			return writeJSON(c.stdout, out)
		}
		if cl.Public() {
			c.printf("Created public client %q (no secret; PKCE required).\n", cl.ID)
			return nil
		}
		if secret == "" {
			c.printf("Created client %q, authenticating with private_key_jwt (no secret).\n", cl.ID)
			return nil
		}
		c.printf("Created confidential client %q.\nClient secret: %s\n", cl.ID, secret)
		c.printf("The secret is shown only this once: monban stores only its hash.\n")
		return nil
	})
}

// splitGrants splits a comma-separated list of grant types.
func splitGrants(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func (c *cli) clientList(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client list", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		clients, err := st.ListClients(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, jsonList(clients, toClientJSON))
		}
		tw := newTable(c.stdout)
		row(tw, "CLIENT ID", "NAME", "TYPE", "APPLICATION", "REDIRECT URIS", "CREATED")
		for _, cl := range clients {
			uris := "-"
			if n := len(cl.RedirectURIs); n > 0 {
				uris = cl.RedirectURIs[0]
				if n > 1 {
					uris += fmt.Sprintf(" (+%d)", n-1)
				}
			}
			row(tw, cl.ID, cl.Name, clientType(cl), cl.ApplicationType, uris, formatTime(cl.CreatedAt))
		}
		return tw.Flush()
	})
}

// clientType is "public" or "confidential".
func clientType(cl *storage.Client) string {
	if cl.Public() {
		return "public"
	}
	return "confidential"
}

func (c *cli) clientShow(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client show", "ID [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		cl, err := getClient(ctx, st, pos[0])
		if err != nil {
			return err
		}
		if js {
			return writeJSON(c.stdout, toClientJSON(cl))
		}
		return c.printClient(cl)
	})
}

// printClient prints a client as "client show" does.
func (c *cli) printClient(cl *storage.Client) error {
	tw := newTable(c.stdout)
	field := func(label string, values ...string) {
		if len(values) == 0 {
			values = []string{"-"}
		}
		for i, v := range values {
			row(tw, label, v)
			if i == 0 {
				label = ""
			}
		}
	}
	field("Client ID:", cl.ID)
	field("Name:", cl.Name)
	field("Type:", clientType(cl))
	field("Token endpoint auth:", cl.AuthMethod)
	field("Application type:", cl.ApplicationType)
	field("Redirect URIs:", cl.RedirectURIs...)
	field("Post-logout URIs:", cl.PostLogoutRedirectURIs...)
	field("Grant types:", strings.Join(cl.GrantTypes, ", "))
	field("Scopes:", strings.Join(cl.Scopes, " "))
	field("Require consent:", yesNo(cl.RequireConsent))
	field("Require MFA:", yesNo(cl.RequireMFA))
	field("Require PAR:", yesNo(cl.RequirePAR))
	field("DPoP-bound tokens:", yesNo(cl.DPoPBoundAccessTokens))
	field("ID token on refresh:", yesNo(!cl.OmitRefreshIDToken))
	field("Back-channel logout:", orDash(cl.BackchannelLogoutURI))
	field("Exchange audiences:", cl.TokenExchangeAudiences...)
	field("Access token TTL:", ttlOrDefault(cl.AccessTokenTTL))
	field("Refresh token TTL:", ttlOrDefault(cl.RefreshTokenTTL))
	if cl.Disabled {
		field("Disabled:", "yes")
	}
	field("Created:", formatTime(cl.CreatedAt))
	return tw.Flush()
}

func (c *cli) clientDelete(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client delete", "ID", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		if err := st.DeleteClient(ctx, pos[0]); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("client %q not found", pos[0])
		} else if err != nil {
			return dbError(err)
		}
		c.printf("Deleted client %q.\n", pos[0])
		return nil
	})
}

func (c *cli) clientRotateSecret(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client rotate-secret", "ID [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		secret := storage.NewToken()
		cl, err := st.UpdateClient(ctx, pos[0], func(cl *storage.Client) error {
			if cl.Public() {
				return policyError{fmt.Errorf("client %q is public: it has no secret to rotate", cl.ID)}
			}
			cl.SecretHash, cl.UpdatedAt = storage.HashToken(secret), now()
			return nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("client %q not found", pos[0])
		} else if err != nil {
			return storeOrPolicyError(err)
		}
		if js {
			return writeJSON(c.stdout, struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}{cl.ID, secret})
		}
		c.printf("New secret for client %q: %s\n", cl.ID, secret)
		c.printf("The old secret no longer works. The new one is shown only this once.\n")
		return nil
	})
}

// ttlOrDefault shows a per-client lifetime, zero meaning the provider's.
func ttlOrDefault(d time.Duration) string {
	if d == 0 {
		return "provider default"
	}
	return d.String()
}

// getClient returns the client or a "not found" error for the operator.
func getClient(ctx context.Context, st storage.Clients, id string) (*storage.Client, error) {
	cl, err := st.GetClient(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("client %q not found", id)
	} else if err != nil {
		return nil, dbError(err)
	}
	return cl, nil
}

// clientPolicyOptions are the deployment settings that client validation
// depends on, from the same configuration the command connects with.
func (c *cli) clientPolicyOptions(cf *configFlags) ([]clientpolicy.Option, error) {
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return nil, err
	}
	return []clientpolicy.Option{clientpolicy.AllowPrivateBackchannel(cfg.BackchannelAllowPrivateNetworks)}, nil
}
