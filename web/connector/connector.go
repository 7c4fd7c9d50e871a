// Package connector is what monban knows about identity providers people
// already use: an upstream OpenID Provider, GitHub, an LDAP directory.
// A connector turns what the upstream says about a person into an
// Identity; it knows nothing about local users, sessions or pages.
// Mapping an Identity to a local user (just-in-time creation, linking,
// group synchronisation) is the caller's job.
//
// Two kinds exist: a Redirector sends the browser to the upstream and
// reads its answer on a callback (OpenID Connect, GitHub); a
// PasswordChecker verifies the sign-in form's username and password
// itself (LDAP bind).
package connector

import (
	"context"
	"errors"
	"net/url"
)

// Identity is a person as an upstream connector vouches for them.
type Identity struct {
	// ConnectorID is the id of the connector that produced the identity
	// (from the configuration).
	ConnectorID string
	// Subject is the upstream's stable, never reassigned identifier for
	// the person: the ID token's sub (OIDC Core §2), GitHub's numeric user
	// id, an LDAP entry's configured id attribute (entryUUID,
	// objectGUID) or, failing that, its DN. (ConnectorID, Subject) is the
	// key of a linked identity.
	Subject string
	// Username is the preferred username after claim mapping; it is a
	// suggestion for a just-in-time user, never a key.
	Username string
	// Email is the e-mail address; EmailVerified is true only when the
	// upstream says the address is verified (OIDC email_verified: true,
	// GitHub's verified primary address, an LDAP directory configured as
	// authoritative).
	Email         string
	EmailVerified bool
	// Name is the display name.
	Name string
	// Groups are the upstream's groups after mapping (GitHub "org" and
	// "org:team", LDAP group names, an OIDC groups claim), sorted, without
	// duplicates. Nil when the connector does not provide groups (then
	// local memberships are left alone); empty when it provides none.
	Groups []string
	// AMR are the upstream's authentication methods (RFC 8176) when the
	// connector is configured to trust them; the caller adds "fed".
	AMR []string
}

// Redirector is a connector that authenticates in the upstream's pages:
// an authorization code flow (RFC 6749 §4.1) with state, nonce and PKCE
// (RFC 7636). The caller keeps state, nonce and verifier for the
// callback (bound to the browser) and checks state itself.
type Redirector interface {
	// AuthCodeURL is where to send the browser. redirectURI is monban's
	// callback for this connector.
	AuthCodeURL(redirectURI, state, nonce, codeVerifier string) string
	// HandleCallback exchanges the code from the callback's query for
	// the upstream's tokens, verifies them (issuer, audience, signature,
	// expiry, nonce) and returns the identity. Errors wrap
	// ErrUpstreamRefused, ErrUpstreamUnavailable or ErrInvalidResponse.
	HandleCallback(ctx context.Context, redirectURI string, query url.Values, nonce, codeVerifier string) (Identity, error)
}

// PasswordChecker is a connector that checks a username and password
// itself, such as an LDAP bind.
type PasswordChecker interface {
	// CheckPassword returns the identity for username when password is
	// right. ErrInvalidCredentials when the user is unknown or the
	// password is wrong (the two are not told apart);
	// ErrUpstreamUnavailable when the upstream cannot be reached in time.
	CheckPassword(ctx context.Context, username, password string) (Identity, error)
}

// Errors a connector's methods wrap; the caller turns them into pages
// without showing the upstream's text to the person.
var (
	// ErrInvalidCredentials: unknown user or wrong password.
	ErrInvalidCredentials = errors.New("connector: invalid credentials")
	// ErrUpstreamRefused: the upstream answered with an error, for
	// example access_denied on the callback.
	ErrUpstreamRefused = errors.New("connector: upstream refused")
	// ErrUpstreamUnavailable: the upstream could not be reached, timed
	// out, or answered with a server error.
	ErrUpstreamUnavailable = errors.New("connector: upstream unavailable")
	// ErrInvalidResponse: the upstream's answer failed verification (a
	// token from another issuer or for another audience, a bad signature,
	// a nonce mismatch, a malformed body).
	ErrInvalidResponse = errors.New("connector: invalid upstream response")
)

// Preparer is a Redirector that must reach its upstream before it can
// build an authorization URL (OpenID Connect discovery). The caller calls
// Prepare before AuthCodeURL; it fails with ErrUpstreamUnavailable or
// ErrInvalidResponse in time instead of hanging.
type Preparer interface {
	Prepare(ctx context.Context) error
}

// EndSessioner is a Redirector whose upstream can end its own session
// (OpenID Connect RP-Initiated Logout 1.0 §2).
type EndSessioner interface {
	// EndSessionURL is the upstream's end_session_endpoint with
	// post_logout_redirect_uri and client_id, or "" when the upstream has
	// none (or has not been reached).
	EndSessionURL(ctx context.Context, postLogoutRedirectURI string) string
}
