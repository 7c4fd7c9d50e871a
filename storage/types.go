package storage

import (
	"slices"
	"time"
)

// User is a person who can sign in.
type User struct {
	ID            string // stable subject identifier (`sub`), never reused
	Username      string // unique, case-sensitive login name
	Email         string
	EmailVerified bool
	Name          string // full display name
	GivenName     string
	FamilyName    string
	PasswordHash  string // argon2id PHC string (or an imported foreign hash, see password.Verify); empty means password sign-in is impossible
	Disabled      bool
	Admin         bool
	CreatedAt     time.Time
	UpdatedAt     time.Time

	// The other standard claims of OIDC Core §5.1, as the user's claims
	// release them (op/claims.go); empty means not set.
	MiddleName          string
	Nickname            string
	PreferredUsername   string // shown to clients; empty: the Username is
	Profile             string // URL of the profile page
	Picture             string // URL of a picture of the person
	Website             string // URL
	Gender              string
	Birthdate           string // YYYY or YYYY-MM-DD (ISO 8601)
	Zoneinfo            string // IANA time zone, e.g. Europe/Paris
	Locale              string // BCP 47 language tag, e.g. en-US
	PhoneNumber         string // E.164, e.g. +81312345678
	PhoneNumberVerified bool
	Address             Address
	// Attributes are custom attributes, released only through a client's
	// ClaimMappings. nil when there are none.
	Attributes map[string]AttributeValue
	// Groups are the names of the groups the user is a member of, sorted
	// by bytes. It is filled by every read of a user and ignored by
	// CreateUser and UpdateUser: membership changes only through
	// Groups.AddGroupMember and RemoveGroupMember.
	Groups []string
}

// Client authentication methods (OIDC Core §9).
const (
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
	AuthMethodNone  = "none"
)

// Application types (OIDC Dynamic Client Registration §2).
const (
	ApplicationWeb    = "web"
	ApplicationNative = "native"
)

// Client is a registered relying party.
type Client struct {
	ID         string
	Name       string
	SecretHash string // HashToken of the secret; empty for public clients
	// AuthMethod is the token_endpoint_auth_method: AuthMethodBasic,
	// AuthMethodPost, AuthMethodPrivateKeyJWT or AuthMethodNone (public
	// client).
	AuthMethod string
	// ApplicationType is ApplicationWeb or ApplicationNative. Only native
	// clients get the loopback-port exception of RFC 8252 §7.3.
	ApplicationType        string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string // e.g. authorization_code, refresh_token
	Scopes                 []string // scopes the client may request
	// RequireConsent makes the provider ask the user before releasing
	// claims to this client (third-party clients).
	RequireConsent bool
	// RequireMFA makes every sign-in to the client use a second factor
	// (issue 17): the request needs acr.MFA.
	RequireMFA bool
	// IDTokenSigningAlg is id_token_signed_response_alg; empty means RS256.
	IDTokenSigningAlg string
	AccessTokenTTL    time.Duration // zero means the provider default
	IDTokenTTL        time.Duration // zero means the provider default
	RefreshTokenTTL   time.Duration // zero means the provider default
	// BackchannelLogoutURI receives logout tokens (Back-Channel Logout 1.0).
	BackchannelLogoutURI             string
	BackchannelLogoutSessionRequired bool
	Disabled                         bool
	CreatedAt                        time.Time
	UpdatedAt                        time.Time

	// AllowedGroups, when not empty, lets only members of at least one of
	// these groups (by name) sign in to the client: checked at /authorize
	// after sign-in and again at every refresh. Renaming a group renames
	// it here too; a group named here cannot be deleted.
	AllowedGroups []string
	// ClaimMappings release custom user attributes to this client as
	// claims (see ClaimMapping).
	ClaimMappings []ClaimMapping

	// JWKS is the client's public key set (RFC 7517 JSON) that its
	// private_key_jwt assertions are checked against; JWKSURI is where to
	// fetch it instead (OIDC Dynamic Client Registration §2: jwks and
	// jwks_uri, never both).
	JWKS    string
	JWKSURI string
	// RequirePAR will make /authorize accept the client's requests only
	// through a pushed authorization request (RFC 9126 §6:
	// require_pushed_authorization_requests). Stored, but not yet
	// enforced or settable: PAR (issue 19 item 3) is not built yet.
	RequirePAR bool

	// DPoPBoundAccessTokens requires every token request of the client to
	// carry a DPoP proof, so its access tokens are always sender-constrained
	// (RFC 9449 §5.2: dpop_bound_access_tokens).
	DPoPBoundAccessTokens bool
	// TokenExchangeAudiences are the audiences this client may ask for in
	// a token exchange (RFC 8693 §2.1: audience / resource); empty means
	// the client may not exchange tokens.
	TokenExchangeAudiences []string
	// RegistrationTokenHash is HashToken of the registration access token
	// of a dynamically registered client (RFC 7592 §3); empty for clients
	// registered by an administrator.
	RegistrationTokenHash string
	// Managed marks a client that configuration as code (monban apply)
	// owns: only such clients are deleted by apply --prune.
	Managed bool
	// OmitRefreshIDToken leaves the ID token out of the client's refresh
	// responses (OIDC Core §12.2: it MAY be returned), saving its
	// signature; false, the default, returns one on every refresh.
	OmitRefreshIDToken bool
}

// Public reports whether the client cannot keep a secret.
func (c *Client) Public() bool { return c.AuthMethod == AuthMethodNone }

// HasGrant reports whether the client may use the grant type.
func (c *Client) HasGrant(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// AuthRequest is a pending authorization request (OIDC Core §3.1.2), from
// the moment /authorize accepted it until its code is redeemed.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseMode        string
	CodeChallenge       string // S256 challenge; empty when none was sent
	CodeChallengeMethod string
	Prompt              []string
	MaxAge              *time.Duration // nil when max_age was not sent
	LoginHint           string
	// UILocales are the person's preferred languages for the pages, from
	// the ui_locales parameter, in order (OIDC Core §3.1.2.1).
	UILocales   []string
	HintSubject string // `sub` of a valid id_token_hint, or the value of a sub claim request (OIDC Core §5.5.1)
	// ACR is the authentication context class the request needs (package
	// storage/acr: from acr_values, an essential acr claim or the
	// client's policy); "" when any will do.
	ACR string
	// Claims are the claims the request asked for one by one with the
	// claims parameter (OIDC Core §5.5), beyond its scopes.
	Claims RequestedClaims
	// DPoPJKT is the dpop_jkt parameter (RFC 9449 §10): the JWK
	// thumbprint (SHA-256, RFC 7638, base64url) of the key whose DPoP
	// proof must come with the code's exchange; "" when none was sent.
	DPoPJKT   string
	CreatedAt time.Time
	ExpiresAt time.Time

	// Set when a user has authenticated (or an existing session was reused).
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string

	// ConsentGranted is set when the user approved this request on the
	// consent page; Denied when they refused it.
	ConsentGranted bool
	Denied         bool

	// Set once, when the authorization code is issued.
	CodeHash      string
	CodeExpiresAt time.Time

	// FamilyID is set only on the request RedeemAuthCode returns: a new
	// ID that names everything issued based on the code (the refresh-token
	// family, and the first access token), kept in the code's tombstone so
	// that a replay can revoke it (RFC 6749 §4.1.2). It is not stored with
	// the request: CreateAuthRequest ignores it and GetAuthRequest leaves
	// it empty.
	FamilyID string
	// User is the request's user as RedeemAuthCode read it in the
	// statement that consumed the code, so the token endpoint need not
	// read it again (its ClaimsView, like the token path's other reads);
	// nil: there is no such user.
	User *User
	// Session is the request's session as RedeemAuthCode read it in that
	// statement (only ID, UserID, ExpiresAt, LastSeenAt and RevokedAt:
	// what Session.Active reads); nil: there is no such session. A
	// logout marks the session revoked and leaves the request, so the
	// exchange must see that the session has ended.
	Session *Session
}

// Authenticated reports whether a user is bound to the request.
func (a *AuthRequest) Authenticated() bool { return a.UserID != "" }

// AuthResult is what a successful authentication binds to a request.
type AuthResult struct {
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
}

// Session is the provider-side single sign-on session of one browser. The
// browser holds a random token in a cookie; the row stores its hash.
type Session struct {
	ID         string // public identifier, used as the `sid` claim
	TokenHash  string // HashToken of the cookie value
	UserID     string
	AuthTime   time.Time
	AMR        []string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry
	RevokedAt  time.Time // zero while the session is live
	// EndedAt is set once, when the end of the session (logout, revocation
	// or expiry) has been handled: its back-channel logout deliveries were
	// enqueued (Back-Channel Logout 1.0 §2.5). Zero until then.
	EndedAt time.Time
	// Address is the client address the session was signed in from, as
	// the sign-in throttle counts it (trusted proxies' forwarding headers
	// honoured). It is shown so that people can recognise their sessions;
	// no security decision reads it.
	Address string
	// UserAgent is the browser's User-Agent header at sign-in, truncated
	// to 256 bytes of valid UTF-8 without control characters. Like Address
	// it is for people to recognise their sessions, not for security
	// decisions.
	UserAgent string
}

// Active reports whether the session may be used at now, given the idle
// timeout (zero means no idle timeout).
func (s *Session) Active(now time.Time, idle time.Duration) bool {
	if !s.RevokedAt.IsZero() || !now.Before(s.ExpiresAt) {
		return false
	}
	return idle <= 0 || now.Before(s.LastSeenAt.Add(idle))
}

// Consent records the scopes a user allowed a client to receive.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// Covers reports whether the consent includes every scope in scopes.
func (c *Consent) Covers(scopes []string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// RefreshToken is one opaque refresh token. Tokens descended from the same
// authorization grant share a FamilyID; rotation marks the presented token
// rotated and creates its successor in the same family.
type RefreshToken struct {
	ID        string // NewOrderedID
	TokenHash string // TokenKey of the token: what the "hash" of the methods below is
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string // browser session the grant came from
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
	// Claims are the individual claims of the grant's authorization
	// request (AuthRequest.Claims), kept for the ID and access tokens of
	// every refresh.
	Claims          RequestedClaims
	CreatedAt       time.Time
	ExpiresAt       time.Time // this token's expiry
	FamilyExpiresAt time.Time // absolute lifetime of the whole family
	RotatedAt       time.Time // zero until rotated
	RevokedAt       time.Time // zero until revoked
	// Reuses counts how often this token was presented again after its
	// rotation and accepted inside the reuse grace window (see ReuseGrace).
	Reuses int
	// DPoPJKT is the thumbprint of the DPoP key the family is bound to
	// (RFC 9449 §5: a public client's refresh tokens), "" when unbound;
	// rotation keeps it.
	DPoPJKT string
}

// CodeRedemption is an authorization-code exchange as the store carries it
// out (AuthRequests.RedeemAuthCode): the code to consume and, when the
// exchange's checks hold in the statement that consumes it, the first
// refresh token of the family it starts.
type CodeRedemption struct {
	CodeHash string
	Now      time.Time
	// FamilyID names what the exchange issues (RFC 6749 §4.1.2); it goes
	// into the code's tombstone and onto RefreshToken.
	FamilyID string
	// The token request, as the checks compare it with the authorization
	// request: the authenticated client, the redirect_uri (RFC 6749
	// §4.1.3: identical) and CodeChallenge, the S256 challenge computed
	// from the presented code_verifier (RFC 7636 §4.6): "" when none was
	// sent, a value no stored challenge can equal when it is malformed.
	ClientID, RedirectURI, CodeChallenge string
	// DPoPJKT is the thumbprint of the key of the token request's DPoP
	// proof, "" when none: a request bound with dpop_jkt needs that key
	// (RFC 9449 §10).
	DPoPJKT string
	// RefreshToken, when not nil, is stored if and only if the code is
	// live, ClientID, RedirectURI and CodeChallenge equal the request's,
	// the request's DPoPJKT is "" or equals DPoPJKT, and the request's
	// user exists and is not disabled, and the request's session (when
	// it names one) belongs to that user and is live at Now (see
	// SessionIdle). The caller sets
	// ID, TokenHash, ClientID, CreatedAt, ExpiresAt, FamilyExpiresAt and
	// DPoPJKT; the store takes FamilyID from the redemption and UserID,
	// SessionID, Scopes, AuthTime, AMR and Claims from the request.
	RefreshToken *RefreshToken
	// SessionIdle is the session idle timeout (0: none) by which the
	// store judges the request's session live at Now, as Session.Active
	// does: a logout between the code's issue and its exchange leaves
	// nothing issued.
	SessionIdle time.Duration
}

// SealedCodeTombstoneGrace is how long RedeemSealedCode keeps a sealed
// code's tombstone beyond the code's expiry. A sealed code is checked
// against its expiry by the clock of the replica that opens it, and its
// tombstone is cleaned up by another's: without the grace a replica whose
// clock lags could accept the code again once its tombstone is gone. A
// stored code has no such window (its row is gone once redeemed).
const SealedCodeTombstoneGrace = 5 * time.Minute

// SealedRedemption is what RedeemSealedCode read and did, in the statement
// that consumed the code.
type SealedRedemption struct {
	// User is the request's user (its ClaimsView), nil when there is no
	// such user.
	User *User
	// Session is the request's session, nil when there is none (logged
	// out). Only ID, UserID, ExpiresAt, LastSeenAt and RevokedAt are set:
	// what Session.Active reads.
	Session *Session
	// Granted: every check held, and the session is now recorded as
	// serving the client (as AddSessionClient, for logout).
	Granted bool
	// Stored: the refresh token was stored (Granted, and one was given).
	Stored bool
}

// ReuseGrace is the optional grace window for refresh-token rotation
// (RFC 9700 §4.14.2 leaves reuse detection to the server): a rotated token
// presented again within Window of its rotation, at most MaxReuses times,
// gets another successor instead of revoking the family, so clients whose
// concurrent requests race are not logged out. The zero value turns it off.
type ReuseGrace struct {
	Window    time.Duration
	MaxReuses int
}

// On reports whether the grace window is enabled.
func (g ReuseGrace) On() bool { return g.Window > 0 && g.MaxReuses > 0 }

// AccessTokenQuery names the server-side state a JWT access token depends
// on (RFC 9068 §2.2 plus monban's private `fid` claim, RFC 7519 §4.3). Empty
// fields are not looked up.
type AccessTokenQuery struct {
	JTI       string // `jti`: checked against the deny list
	SessionID string // `sid`: the browser session the token is bound to
	FamilyID  string // `fid`: the refresh-token family (the grant)
	UserID    string // `sub`
}

// AccessTokenStatus is the state an access token's liveness depends on,
// read in one round trip (RFC 7662 §2.2 `active`; RFC 7009 §2.1).
//
// Session and User carry only what the token path reads (see
// Session.LivenessView and User.ClaimsView): every introspection and
// userinfo call reads them, so secrets such as the password hash are
// never fetched and the read stays small.
type AccessTokenStatus struct {
	Revoked bool     // the jti is on the deny list
	Session *Session // LivenessView; nil when not asked for or absent
	// FamilyRevoked is true when the family has a revoked member or no
	// member at all (deleted with its client). False when not asked for.
	FamilyRevoked bool
	User          *User // ClaimsView; nil when not asked for or absent
	// Version is the liveness version of the user the status was read
	// at (AccessTokens.LivenessVersion); 0 when no user was asked for.
	Version int64
}

// LivenessView is s with only the fields Active and the token path read:
// ID, UserID, ExpiresAt, LastSeenAt and RevokedAt.
func (s Session) LivenessView() Session {
	return Session{ID: s.ID, UserID: s.UserID, ExpiresAt: s.ExpiresAt, LastSeenAt: s.LastSeenAt, RevokedAt: s.RevokedAt}
}

// ClaimsView is u with only the fields the token path reads: ID and
// Disabled, the claims userinfo and introspection release (OIDC Core
// §5.1), the custom attributes and the groups. PasswordHash, Admin and
// CreatedAt are left out.
func (u User) ClaimsView() User {
	u.PasswordHash, u.Admin, u.CreatedAt = "", false, time.Time{}
	return u
}

// RefreshGrant is a refresh token with the rows its next use depends on,
// read together (storage.RefreshTokens.GetRefreshGrant).
type RefreshGrant struct {
	Token   *RefreshToken
	User    *User    // nil when absent
	Session *Session // nil when absent (offline_access tokens outlive it)
}

// RefreshConditions are what must hold, besides the token being live and
// rotatable, for RefreshTokens.RotateRefreshGrant to rotate it: the checks
// the refresh grant makes before a rotation (RFC 6749 §6), so that a
// refused request never burns a token.
type RefreshConditions struct {
	ClientID string   // the token was issued to this client
	DPoPJKT  string   // a token bound to a DPoP key is bound to this one (RFC 9449 §5); "" without a proof
	Scopes   []string // requested scopes, each granted to the token (RFC 6749 §6); none: no narrowing
	// AllowedGroups is the client's group rule: when not empty, the user
	// is a member of a group with one of these names.
	AllowedGroups []string
	// SessionIdle is the sessions' idle timeout (0: none). A token without
	// the offline_access scope needs its session Active(now, SessionIdle).
	SessionIdle time.Duration
}

// Hold reports whether t, with its user u, meets every condition of c
// but the session's liveness, which needs the session: the token was
// issued to c's client, a DPoP-bound token is bound to c's key, the
// requested scopes were granted, and u exists, is enabled and satisfies
// the client's group rule. The memory store rotates by it, and op checks
// what the PostgreSQL statement rotated against it.
func (c RefreshConditions) Hold(t *RefreshToken, u *User) bool {
	return u != nil && !u.Disabled && t.ClientID == c.ClientID &&
		(t.DPoPJKT == "" || t.DPoPJKT == c.DPoPJKT) &&
		!slices.ContainsFunc(c.Scopes, func(s string) bool { return !slices.Contains(t.Scopes, s) }) &&
		InAllowedGroups(c.AllowedGroups, u.Groups)
}

// InAllowedGroups is a client's group rule (Client.AllowedGroups): allowed
// names no group, or groups, a user's, includes one of them.
func InAllowedGroups(allowed, groups []string) bool {
	return len(allowed) == 0 || slices.ContainsFunc(groups, func(g string) bool { return slices.Contains(allowed, g) })
}

// RotatedGrant is what RefreshTokens.RotateRefreshGrant returns.
type RotatedGrant struct {
	Token       *RefreshToken // the successor as stored
	User        *User         // the token's user, enabled
	SessionLive bool          // the token's session is Active(now, SessionIdle)
	GraceReuse  bool          // the presented token had been rotated before: accepted inside the grace window
}

// LogoutDelivery is one back-channel logout token to deliver to one client
// (Back-Channel Logout 1.0 §2.5): a row of the durable outbox. The token
// itself is signed at delivery time, so retries carry fresh iat/exp.
type LogoutDelivery struct {
	Queued
	ClientID  string
	Subject   string // `sub` of the logout token (the user ID)
	SessionID string // `sid` of the logout token; empty when none
}

// Signing key states, in lifecycle order: next → current → retired →
// deleted (see SigningKeys and keys.RotationPolicy in op/keys for the timing).
const (
	KeyNext    = "next"    // published in the JWKS, not yet signing
	KeyCurrent = "current" // signing
	KeyRetired = "retired" // published, verifies tokens it signed earlier
)

// SigningKey is a private signing key. The key material is encrypted by the
// caller before it reaches the store.
type SigningKey struct {
	ID           string    // `kid`
	Algorithm    string    // JWS alg, e.g. RS256, ES256
	State        string    // KeyNext, KeyCurrent or KeyRetired
	EncryptedKey []byte    // caller-encrypted PKCS#8 DER
	CreatedAt    time.Time // also when it was first published
	ActivatedAt  time.Time // when it started signing; zero while next
	RetiredAt    time.Time // when it stopped signing; zero unless retired
	RemoveAfter  time.Time // when it may leave the JWKS; zero unless retired
}

// RequestedClaims are the claims an authorization request asked for one by
// one with the claims parameter (OIDC Core §5.5), beyond those its scopes
// release, by where they are to be returned: in the ID token or from the
// UserInfo endpoint. Every name is one of RequestableClaims.
type RequestedClaims struct {
	IDToken  []string
	UserInfo []string
}

// IsZero reports whether no claim is requested.
func (c RequestedClaims) IsZero() bool { return len(c.IDToken) == 0 && len(c.UserInfo) == 0 }

// RequestableClaims are the user claims the claims parameter may ask for
// one by one: the standard claims of OIDC Core §5.1 monban serves and
// `groups`. Append only: storage/pending encodes a name by its position.
var RequestableClaims = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
	"profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
	"email", "email_verified", "phone_number", "phone_number_verified", "address", "groups",
}
