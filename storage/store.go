package storage

import (
	"context"
	"time"
)

// Store is everything monban keeps. Methods take ctx first and return
// errors wrapping the sentinels in errors.go. Slices in returned values are
// never shared with the store: callers may modify them.
//
// Single-use values are consumed in one atomic operation (never
// get-then-delete), so concurrent callers see exactly one winner.
type Store interface {
	Users
	Groups
	Lists
	Clients
	AuthRequests
	Sessions
	Consents
	RefreshTokens
	AccessTokens
	LogoutDeliveries
	Outbox
	UserTokens
	SigningKeys
	LoginThrottles
	AuditLog
	Cleanup
	Atomic
	Factors
	// Device flow, private_key_jwt and PAR (issue 19: device.go,
	// clientauth.go).
	DeviceAuthorizations
	ClientAssertions
	PushedRequests
	WebAuthnCredentials
	// Dynamic client registration (issue 19: registration.go).
	InitialAccessTokens
	// Links to upstream identities (issue 18: federated.go).
	FederatedIdentities

	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close()
}

// Atomic groups changes that must commit together, such as an admin
// change and its audit entry (checklist R8: all or nothing, also when the
// process dies between the two).
type Atomic interface {
	// Atomically runs fn on a Store whose changes commit together when fn
	// returns nil, and are rolled back otherwise (PostgreSQL: one
	// transaction; memory: fn holds the store's mutex and a copy taken
	// before fn is put back); fn's error is returned unchanged. fn must
	// use only the Store it is given, from one goroutine, and must not
	// keep or close it. A nested call is all or nothing within the outer
	// one (a savepoint).
	Atomically(ctx context.Context, fn func(Store) error) error
}

// Users stores people who can sign in.
type Users interface {
	// CreateUser inserts u. ErrAlreadyExists if the ID or username is taken.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns the user with the ID, or ErrNotFound.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByUsername returns the user with the exact username, or ErrNotFound.
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns all users ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
	// UpdateUser changes the user with the ID through fn, under a lock on
	// that user (PostgreSQL: SELECT … FOR UPDATE in one transaction;
	// memory: the store's mutex). fn gets a copy of the user as stored now,
	// changes only the fields it means to change, and the result is
	// written unless fn returns an error: then nothing changes and fn's
	// error is returned unchanged. Concurrent updates of one user run one
	// after the other, each seeing the ones before, so two writers that
	// change different fields (an administrator disabling, the CLI
	// renaming) never undo each other. ID and CreatedAt stay as stored.
	// fn runs while the user is locked: it must be quick (hash passwords
	// before the call) and must not use the store. It returns the stored
	// user. ErrNotFound if absent; ErrAlreadyExists if the new username is
	// taken.
	UpdateUser(ctx context.Context, id string, fn func(*User) error) (*User, error)
	// SetPasswordHash replaces the user's password hash with newHash only
	// where it still equals oldHash, in one atomic step, and changes
	// nothing else (not UpdatedAt: the password is the same, only its
	// encoding changed). It is how sign-in upgrades an outdated hash
	// after the slow password check without undoing what happened in
	// the meantime: an administrator who reset the password or disabled
	// the user keeps the last word. ErrConflict if the hash is no longer
	// oldHash; ErrNotFound if the user is absent.
	SetPasswordHash(ctx context.Context, id, oldHash, newHash string) error
	// DeleteUser removes the user and what belongs to them: sessions,
	// consents, refresh tokens and group memberships (end the sessions
	// first, for back-channel logout). Audit entries stay. ErrNotFound if
	// absent.
	DeleteUser(ctx context.Context, id string) error
	// CountEnabledAdmins returns how many users are administrators and
	// not disabled (the last one may not lose the role).
	CountEnabledAdmins(ctx context.Context) (int, error)
}

// Clients stores registered relying parties.
type Clients interface {
	// CreateClient inserts c. ErrAlreadyExists if the ID is taken.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns the client, or ErrNotFound.
	GetClient(ctx context.Context, id string) (*Client, error)
	// ListClients returns all clients ordered by ID.
	ListClients(ctx context.Context) ([]*Client, error)
	// UpdateClient changes the client with the ID through fn under a lock
	// on that client, as UpdateUser does for users: fn gets a copy of the
	// client as stored now and the result is written unless fn returns an
	// error (returned unchanged). ID and CreatedAt stay as stored. fn must
	// be quick and must not use the store. It returns the stored client;
	// ErrNotFound if absent.
	UpdateClient(ctx context.Context, id string, fn func(*Client) error) (*Client, error)
	// DeleteClient removes the client, or returns ErrNotFound.
	DeleteClient(ctx context.Context, id string) error
}

// AuthRequests stores authorization requests and their codes.
type AuthRequests interface {
	// CreateAuthRequest inserts r. ErrAlreadyExists if the ID is taken.
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	// CreateSessionAuthRequest stores r, a request answered from the live
	// session r.SessionID (usually with its code already set), and records
	// that the session served r.ClientID (as AddSessionClient): both or
	// neither, in one round trip. ErrNotFound if the session or the client
	// is absent; ErrAlreadyExists as for CreateAuthRequest.
	CreateSessionAuthRequest(ctx context.Context, r *AuthRequest) error
	// GetAuthRequest returns the request, or ErrNotFound.
	GetAuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// AuthenticateAuthRequest binds a user to the request. ErrNotFound if
	// absent; ErrConflict once a code was issued for it.
	AuthenticateAuthRequest(ctx context.Context, id string, res AuthResult) error
	// SetAuthRequestConsent records the user's answer on the consent page:
	// granted sets ConsentGranted, otherwise Denied. ErrNotFound if absent;
	// ErrConflict once a code was issued.
	SetAuthRequestConsent(ctx context.Context, id string, granted bool) error
	// IssueAuthCode stores the hash of the request's authorization code.
	// It succeeds at most once per request: ErrConflict if a code was
	// already issued, ErrNotFound if the request is absent.
	IssueAuthCode(ctx context.Context, id, codeHash string, expiresAt time.Time) error
	// RedeemAuthCode is the code exchange's one store operation (RFC 6749
	// §4.1.3). It atomically removes the request whose code hash is
	// r.CodeHash, giving it r.FamilyID, and in the same atomic operation
	// leaves a tombstone of the code (request ID, client ID, FamilyID) that
	// lives until the code's expiry. A code is consumed at most once even
	// under concurrency: of N concurrent callers exactly one succeeds.
	//  - a code that has a tombstone (it was consumed before, including by
	//    a concurrent caller that won): a *CodeReusedError (ErrCodeReused)
	//    carrying the FamilyID the first redemption gave, so the caller
	//    can revoke the tokens issued based on the code (RFC 6749 §4.1.2:
	//    MUST deny, SHOULD revoke). The tombstone stays, so every replay
	//    until cleanup reports the same family;
	//  - an expired code (at r.Now): removed, without a tombstone, and
	//    ErrNotFound, as for an unknown one (nothing was issued based on it).
	// The removed request is invisible to every other method. Also in the
	// same atomic operation: the insertion of
	// r.RefreshToken if (and only if) the checks CodeRedemption lists
	// hold. Concurrent redemptions of one code: exactly one consumes it,
	// so at most one refresh token is stored. The code is consumed (and
	// its tombstone left) whether or not the checks hold. It returns the
	// consumed request, with FamilyID, User and Session (each nil when it
	// does not exist), and whether the refresh token was stored.
	RedeemAuthCode(ctx context.Context, r *CodeRedemption) (req *AuthRequest, stored bool, err error)
	// RedeemSealedCode is RedeemAuthCode for a sealed code (package
	// storage/pending, CodeSealer): req, authenticated and with its code's
	// expiry, travelled in the code and was never stored. In one atomic
	// operation it leaves the code's tombstone under r.CodeHash (request
	// req.ID, client req.ClientID, family r.FamilyID, until
	// req.CodeExpiresAt plus SealedCodeTombstoneGrace) and, only when
	// every check holds, records that
	// req.SessionID served req.ClientID (as AddSessionClient) and stores
	// r.RefreshToken (when not nil) from req. The checks are
	// CodeRedemption's (client, redirect URI, challenge, dpop_jkt, an
	// existing enabled user) and that the session req.SessionID exists,
	// belongs to req.UserID and is live at r.Now (not revoked, not past
	// its expiry, not idle past r.SessionIdle): a logout, a forced logout
	// or a disabled user between the code's issue and its exchange leaves
	// nothing issued. Of N concurrent callers exactly one leaves the
	// tombstone; a code whose tombstone exists is a *CodeReusedError
	// naming the first redemption's family, and nothing else happens. An
	// expired code (req.CodeExpiresAt not after r.Now), or one whose
	// client no longer exists, is ErrNotFound, and nothing is written.
	RedeemSealedCode(ctx context.Context, r *CodeRedemption, req *AuthRequest) (*SealedRedemption, error)
	// DeleteAuthRequest removes the request, or returns ErrNotFound.
	DeleteAuthRequest(ctx context.Context, id string) error
}

// Sessions stores provider-side SSO sessions.
type Sessions interface {
	// CreateSession inserts s. ErrAlreadyExists if the ID or token hash is taken.
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session by ID (revoked or not), or ErrNotFound.
	GetSession(ctx context.Context, id string) (*Session, error)
	// GetSessionByTokenHash returns the session whose cookie token hashes to
	// tokenHash (revoked or not), or ErrNotFound.
	GetSessionByTokenHash(ctx context.Context, tokenHash string) (*Session, error)
	// GetSessionWithUserActive returns, in one round trip, the session
	// whose cookie token hashes to tokenHash (revoked or not) and whether
	// its user exists and is not disabled (all that a request answered
	// from the session needs of the user), or ErrNotFound when there is
	// no such session.
	GetSessionWithUserActive(ctx context.Context, tokenHash string) (s *Session, userActive bool, err error)
	// ListUserSessions returns the user's sessions that are not revoked,
	// newest first.
	ListUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// TouchSession sets LastSeenAt, or returns ErrNotFound.
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	// RenewSession records a new authentication on a live session: it
	// replaces the cookie token's hash (so the old cookie stops working)
	// and sets AuthTime, AMR and LastSeenAt to the renewal. The session ID
	// (`sid`), the clients it served and the Address and UserAgent of the
	// first sign-in stay. ErrNotFound if the session is absent or revoked;
	// ErrAlreadyExists if the new hash is taken.
	RenewSession(ctx context.Context, id, newTokenHash string, authTime time.Time, amr []string) error
	// RevokeSession marks the session revoked at the given time. Revoking
	// an already revoked session keeps the first time. ErrNotFound if absent.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeUserSessions revokes every live session of the user and returns
	// the IDs it revoked.
	RevokeUserSessions(ctx context.Context, userID string, at time.Time) ([]string, error)
	// AddSessionClient records that the session was used to sign in to the
	// client. Idempotent. ErrNotFound if the session is absent.
	AddSessionClient(ctx context.Context, sessionID, clientID string) error
	// ListSessionClients returns the client IDs the session has served,
	// ordered by ID.
	ListSessionClients(ctx context.Context, sessionID string) ([]string, error)
	// EndSession records that the session's end was handled: it sets
	// EndedAt and, in the same transaction, enqueues one LogoutDelivery
	// (Subject = user, SessionID = the session) for every enabled client
	// the session served that has a BackchannelLogoutURI (Back-Channel
	// Logout 1.0 §2.3, §2.5). Only the first call for a session does this
	// and returns the number enqueued; later calls return 0. ErrNotFound
	// if the session is absent.
	EndSession(ctx context.Context, id string, at time.Time) (int, error)
	// ListSessionsToEnd returns up to limit sessions whose end has not been
	// handled (EndedAt zero) although they are revoked, past ExpiresAt at
	// now, or idle (LastSeenAt + idle <= now; idle 0 means no idle
	// timeout), oldest first.
	ListSessionsToEnd(ctx context.Context, now time.Time, idle time.Duration, limit int) ([]*Session, error)
}

// Consents stores remembered consent decisions.
type Consents interface {
	// GetConsent returns the user's consent for the client, or ErrNotFound.
	GetConsent(ctx context.Context, userID, clientID string) (*Consent, error)
	// SaveConsent stores c, adding its scopes to any already consented.
	SaveConsent(ctx context.Context, c *Consent) error
	// DeleteConsent removes the consent, or returns ErrNotFound.
	DeleteConsent(ctx context.Context, userID, clientID string) error
	// ListUserConsents returns the user's consents, ordered by client ID
	// (none for an unknown user).
	ListUserConsents(ctx context.Context, userID string) ([]*Consent, error)
}

// RefreshTokens stores refresh tokens and their families.
type RefreshTokens interface {
	// CreateRefreshToken inserts t, the first token of a family (or a
	// successor created by RotateRefreshToken). ErrAlreadyExists on a
	// duplicate ID or hash.
	CreateRefreshToken(ctx context.Context, t *RefreshToken) error
	// GetRefreshToken returns the token by hash (in any state), or ErrNotFound.
	GetRefreshToken(ctx context.Context, tokenHash string) (*RefreshToken, error)
	// GetRefreshGrant returns, in one round trip, the token by hash (in
	// any state) with its user and its session, each nil when absent: what
	// the refresh grant checks before it rotates. ErrNotFound if there is
	// no such token.
	GetRefreshGrant(ctx context.Context, tokenHash string) (*RefreshGrant, error)
	// RotateRefreshToken atomically marks the live token with oldHash as
	// rotated and inserts next (whose FamilyID, ClientID, UserID,
	// SessionID, Scopes, AuthTime, AMR, FamilyExpiresAt and DPoPJKT are copied from
	// the old token by the store). It returns the stored successor.
	//  - unknown, revoked or expired at now (own or family expiry), or a
	//    member of a family with a revoked member: ErrNotFound;
	//  - already rotated, less than grace.Window before now, and accepted
	//    fewer than grace.MaxReuses times: another successor is inserted
	//    and the old token's Reuses incremented (only when grace.On());
	//  - otherwise already rotated: the whole family is revoked at now in
	//    the same transaction and ErrTokenReused is returned.
	// Of N concurrent rotations of one token exactly one succeeds (1 +
	// grace.MaxReuses with a grace window).
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time, grace ReuseGrace) (*RefreshToken, error)
	// RotateRefreshGrant is the refresh grant's common case in one atomic
	// operation (one round trip): it rotates the token with oldHash as
	// RotateRefreshToken would succeed to, only if cond holds for the
	// token, its user and its session at now as well, and returns the
	// successor with what the grant issues from. When it rotates nothing
	// it returns ErrNotFound and changes nothing (it never revokes): the
	// caller then diagnoses with GetRefreshGrant and RotateRefreshToken,
	// which detect reuse. ErrAlreadyExists on a taken successor ID or hash.
	RotateRefreshGrant(ctx context.Context, oldHash string, next *RefreshToken, now time.Time, grace ReuseGrace, cond RefreshConditions) (*RotatedGrant, error)
	// RevokeRefreshFamily revokes every token of the family at the given time.
	RevokeRefreshFamily(ctx context.Context, familyID string, at time.Time) error
	// RevokeSessionRefreshTokens revokes the live tokens issued from the
	// browser session, except those whose scopes include offline_access
	// when keepOffline is true.
	RevokeSessionRefreshTokens(ctx context.Context, sessionID string, keepOffline bool, at time.Time) error
	// RevokeUserRefreshTokens revokes every live token of the user,
	// offline_access ones included ("log out everywhere", user disabled).
	RevokeUserRefreshTokens(ctx context.Context, userID string, at time.Time) error
	// RevokeUserClientRefreshTokens revokes every live token of the user
	// for one client, offline_access ones included (a consent withdrawn).
	RevokeUserClientRefreshTokens(ctx context.Context, userID, clientID string, at time.Time) error
	// ListUserRefreshClients returns the IDs of the clients holding a
	// live refresh token of the user at now (not revoked, not rotated,
	// neither it nor its family expired), sorted and distinct: the apps
	// the account page shows, offline_access grants included.
	ListUserRefreshClients(ctx context.Context, userID string, now time.Time) ([]string, error)
}

// AccessTokens is the deny list of revoked JWT access tokens (RFC 7009
// §2.1) and the one-round-trip liveness read that userinfo and
// introspection use (RFC 7662 §2.2).
type AccessTokens interface {
	// RevokeAccessToken puts the jti on the deny list until expiresAt, the
	// token's own expiry. Idempotent.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	// IsAccessTokenRevoked reports whether the jti is on the deny list.
	IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error)
	// GetAccessTokenStatus reads, in one round trip, the deny-list entry,
	// session, refresh family and user that q names, and the user's
	// liveness version they were read at.
	GetAccessTokenStatus(ctx context.Context, q AccessTokenQuery) (*AccessTokenStatus, error)
	// LivenessVersion reads, in one round trip, the liveness version of
	// the user and whether jti is on the deny list. A user's version
	// increases with every committed change that can make one of the
	// user's live access tokens inactive or change what
	// GetAccessTokenStatus returns for it — a session of the user revoked,
	// deleted while live, or its expiry changed; a refresh token of the
	// user revoked or deleted while live; the user changed or deleted; a
	// membership of the user or the name of one of the user's groups
	// changed. Other people's changes leave it alone. While the version
	// equals a status's Version and the jti is not denied, that status
	// still holds, except for what time alone changes (expiry, idleness),
	// which callers check. Changes that only make tokens more live (a
	// session touched, a token rotated) need not increase it. A user who
	// never had a change has version 0.
	LivenessVersion(ctx context.Context, jti, userID string) (version int64, revoked bool, err error)
}

// LogoutDeliveries is the durable outbox of back-channel logout tokens
// (Back-Channel Logout 1.0 §2.5, §2.8), with the rules of Queue. Deleting
// a client deletes its deliveries.
type LogoutDeliveries interface {
	// LogoutOutbox returns the delivery queue, bound to this Store
	// (inside Atomically, to its transaction).
	LogoutOutbox() Queue[*LogoutDelivery]
}

// SigningKeys stores the provider's (encrypted) signing keys.
//
// An algorithm has at most one KeyNext and at most one KeyCurrent key at any
// moment, whoever writes: several replicas may rotate at once, and the store
// (not the callers) keeps that invariant. Keys change state only through
// PromoteSigningKey, so a key never goes back to an earlier state.
type SigningKeys interface {
	// CreateSigningKey inserts k. ErrAlreadyExists if the ID is taken, or if
	// k is next or current and its algorithm already has a key in that state.
	CreateSigningKey(ctx context.Context, k *SigningKey) error
	// ListSigningKeys returns all keys, oldest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
	// PromoteSigningKey atomically makes the next key id the current key of
	// its algorithm (ActivatedAt = at) and retires the algorithm's previous
	// current key, if any (RetiredAt = at, RemoveAfter = removeAfter).
	// ErrNotFound if there is no key id; ErrConflict if it is not next (a
	// concurrent rotation promoted it first), and then nothing changes.
	PromoteSigningKey(ctx context.Context, id string, at, removeAfter time.Time) error
	// UpdateSigningKeyCiphertext replaces only the key's EncryptedKey (to
	// re-encrypt it under another secret), or returns ErrNotFound.
	UpdateSigningKeyCiphertext(ctx context.Context, id string, encryptedKey []byte) error
	// DeleteRetiredSigningKeys deletes the retired keys whose RemoveAfter is
	// before now (a retired key without RemoveAfter is kept) and returns
	// their IDs, sorted.
	DeleteRetiredSigningKeys(ctx context.Context, now time.Time) ([]string, error)
	// DeleteSigningKey removes the key, or returns ErrNotFound.
	DeleteSigningKey(ctx context.Context, id string) error
}
