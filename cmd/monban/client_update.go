package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// clientFlags are the client settings that "client add" and "client
// update" share.
type clientFlags struct {
	name                  *string
	redirects, postLogout stringList
	consent               *bool
	requireMFA            *bool
	requirePAR            *bool
	dpopBound             *bool
	refreshIDToken        *bool
	grants, scopes        *string
	offline               *bool
	backchannel           *string
	accessTTL, refreshTTL *time.Duration
	idTokenAlg            *string
	authMethod            *string
}

// addClientFlags defines the shared flags on fs. For update they have no
// defaults: only the flags given change the client.
func addClientFlags(fs *flag.FlagSet, forUpdate bool) *clientFlags {
	grants, scopes := clientpolicy.DefaultGrants, clientpolicy.DefaultScopes
	if forUpdate {
		grants, scopes = "", ""
	}
	f := &clientFlags{}
	f.name = fs.String("name", "", "display `name` shown to users")
	fs.Var(&f.redirects, "redirect-uri", "redirect `URI` (repeatable; update replaces the list)")
	fs.Var(&f.postLogout, "post-logout-redirect-uri", "post-logout redirect `URI` (repeatable; update replaces the list)")
	f.consent = fs.Bool("consent", false, "ask users for consent (third-party client)")
	f.requireMFA = fs.Bool("require-mfa", false, "every sign-in to the client needs a second factor; people without one enrol first (=false removes it)")
	f.requirePAR = fs.Bool("require-par", false, "require_pushed_authorization_requests: the client must push its authorization "+
		"requests to /par (RFC 9126) and plain /authorize requests are refused (=false removes it)")
	f.dpopBound = fs.Bool("dpop-bound", false, "dpop_bound_access_tokens: every token request must carry a DPoP proof, "+
		"so the client's access tokens are bound to its key (RFC 9449 §5.2; =false removes it)")
	f.refreshIDToken = fs.Bool("refresh-id-token", true, "return a new ID token on every refresh; =false leaves it out "+
		"(OpenID Connect Core §12.2: optional), saving its signature")
	f.grants = fs.String("grant", grants, "comma-separated grant `types`")
	f.scopes = fs.String("scope", scopes, "space-separated `scopes` the client may request")
	f.offline = fs.Bool("offline-access", false, "allow the offline_access scope: refresh tokens that survive the user's logout, "+
		"but not 'user logout-everywhere', 'user disable' or a password change (=false removes it)")
	f.backchannel = fs.String("backchannel-logout-uri", "", "`URI` that receives back-channel logout tokens "+
		"(OpenID Connect Back-Channel Logout 1.0; https, or http on loopback; empty removes it)")
	f.accessTTL = fs.Duration("access-token-ttl", 0, "access token `lifetime`, 30s to 10m (0: the provider default, 5m)")
	f.idTokenAlg = fs.String("id-token-alg", "", "id_token_signed_response_alg: `ALG` RS256 (default), ES256, PS256 or EdDSA")
	f.authMethod = fs.String("auth-method", "", "token_endpoint_auth_method: `METHOD` client_secret_basic (default: the secret "+
		"in the Authorization header), client_secret_post (in the form body) or none (public client, PKCE)")
	f.refreshTTL = fs.Duration("refresh-token-ttl", 0, "refresh token and grant `lifetime`, 5m to 720h (0: the provider default, 720h)")
	return f
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// apply copies the flags for which set reports true into cl.
func (f *clientFlags) apply(cl *storage.Client, set func(name string) bool) {
	if set("name") {
		cl.Name = *f.name
	}
	if set("redirect-uri") {
		cl.RedirectURIs = []string(f.redirects)
	}
	if set("post-logout-redirect-uri") {
		cl.PostLogoutRedirectURIs = []string(f.postLogout)
	}
	if set("consent") {
		cl.RequireConsent = *f.consent
	}
	if set("require-mfa") {
		cl.RequireMFA = *f.requireMFA
	}
	if set("require-par") {
		cl.RequirePAR = *f.requirePAR
	}
	if set("dpop-bound") {
		cl.DPoPBoundAccessTokens = *f.dpopBound
	}
	if set("refresh-id-token") {
		cl.OmitRefreshIDToken = !*f.refreshIDToken
	}
	if set("grant") {
		cl.GrantTypes = splitGrants(*f.grants)
	}
	if set("scope") {
		cl.Scopes = strings.Fields(*f.scopes)
	}
	if set("offline-access") {
		cl.Scopes = slices.DeleteFunc(cl.Scopes, func(s string) bool { return s == scopeOfflineAccess })
		if *f.offline {
			cl.Scopes = append(cl.Scopes, scopeOfflineAccess)
		}
	}
	if set("backchannel-logout-uri") {
		cl.BackchannelLogoutURI = *f.backchannel
	}
	if set("access-token-ttl") {
		cl.AccessTokenTTL = *f.accessTTL
	}
	if set("refresh-token-ttl") {
		cl.RefreshTokenTTL = *f.refreshTTL
	}
	if set("id-token-alg") {
		cl.IDTokenSigningAlg = *f.idTokenAlg
	}
	if set("auth-method") {
		cl.AuthMethod = *f.authMethod
	}
}

// clientUpdate changes the settings given as flags and keeps the others.
// The result is validated as a new registration would be.
func (c *cli) clientUpdate(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client update", "ID [--name NAME] [--redirect-uri URI...] [--post-logout-redirect-uri URI...] [--consent=BOOL] [--require-mfa=BOOL] [--require-par=BOOL] [--refresh-id-token=BOOL] [--grant G,G] [--scope \"S S\"] [--offline-access=BOOL] [--backchannel-logout-uri URI] [--access-token-ttl D] [--refresh-token-ttl D] [--id-token-alg ALG] [--auth-method METHOD] [--jwks-file F | --jwks-uri URL] [--token-exchange-audience URL...] [--allowed-group NAME...] [--claim-mapping CLAIM=ATTR[@SCOPE]...] [--output json]", true)
	cf := addClientFlags(cmd.fs, true)
	pf := addPeopleClientFlags(cmd.fs)   // issue 15
	kf := addKeyClientFlags(cmd.fs)      // issue 19
	xf := addExchangeClientFlags(cmd.fs) // issue 19: token exchange
	pos, js, err := cmd.parse(args, 1)
	if err != nil {
		return err
	}
	set := flagsSet(cmd.fs)
	for _, f := range []string{"output", "config", "database-url"} {
		delete(set, f)
	}
	if len(set) == 0 {
		return usagef("nothing to change: give at least one setting")
	}
	probe := &storage.Client{}
	if err := pf.apply(probe, func(name string) bool { return set[name] }); err != nil {
		return err
	}
	if err := kf.load(func(name string) bool { return set[name] }, c.stdin); err != nil {
		return err
	}
	return cmd.withStore(ctx, func(st storage.Store) error {
		if err := checkAllowedGroups(ctx, st, probe.AllowedGroups); err != nil {
			return err
		}
		opts, err := c.clientPolicyOptions(cmd.cf)
		if err != nil {
			return err
		}
		// The flags apply to the client as stored now, under its row lock:
		// a concurrent change of other settings (the console, another
		// operator) is kept.
		var secret string
		cl, err := st.UpdateClient(ctx, pos[0], func(cl *storage.Client) error {
			cf.apply(cl, func(name string) bool { return set[name] })
			_ = pf.apply(cl, func(name string) bool { return set[name] }) // parsed above
			kf.apply(cl, func(name string) bool { return set[name] })
			xf.apply(cl, func(name string) bool { return set[name] })
			if err := flagErrors(clientpolicy.ValidateClient(cl, opts...), clientFlagOf); err != nil {
				return policyError{err}
			}
			secret = changeSecretForMethod(cl)
			cl.UpdatedAt = now()
			return nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("client %q not found", pos[0])
		} else if err != nil {
			return storeOrPolicyError(err)
		}
		if js {
			out := toClientJSON(cl)
			out.ClientSecret = secret
			return writeJSON(c.stdout, out)
		}
		c.printf("Updated client %q.\n", cl.ID)
		if secret != "" {
			c.printf("It is confidential now. Client secret: %s\n", secret)
			c.printf("The secret is shown only this once: monban stores only its hash.\n")
		}
		return nil
	})
}

// changeSecretForMethod keeps a client's secret in step with its
// authentication method after --auth-method: a client that became public
// (none) loses its secret, so nothing can authenticate with it; one that
// became confidential gets a new secret, which is returned to be shown
// once. Switching between client_secret_basic and client_secret_post
// keeps the secret: only where the client sends it changes.
func changeSecretForMethod(cl *storage.Client) string {
	switch {
	case cl.Public(), cl.AuthMethod == storage.AuthMethodPrivateKeyJWT: // no secret to authenticate with
		cl.SecretHash = ""
	case cl.SecretHash == "":
		secret := storage.NewToken()
		cl.SecretHash = storage.HashToken(secret)
		return secret
	}
	return ""
}

// policyError marks an updater's refusal, which the operator reads as is
// (a store error gets dbError's wording instead).
type policyError struct{ err error }

func (e policyError) Error() string { return e.err.Error() }

// storeOrPolicyError returns an updater's refusal unchanged and wraps a
// store failure with dbError.
func storeOrPolicyError(err error) error {
	var pe policyError
	if errors.As(err, &pe) {
		return pe.err
	}
	return dbError(err)
}
