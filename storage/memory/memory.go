// Package memory is monban's embedded storage.Store: maps behind one mutex.
// It is the default for `make run` and the fake for fast tests. It keeps
// nothing on disk, so everything is lost when the process exits.
//
// Values are deep-copied on the way in and on the way out, so neither the
// caller nor the store can change the other's data. Every method holds the
// mutex for its whole duration, which makes single-use operations
// (RedeemAuthCode, IssueAuthCode, RotateRefreshToken) atomic.
//
// It mirrors the PostgreSQL store where the storagetest suite pins
// behaviour the interface leaves open: times are kept in UTC at microsecond
// precision, rows that belong to a user or client need that user or client
// to exist, and deleting a client deletes what belongs to it.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/monban-idp/monban/storage"
)

var _ storage.Store = (*Store)(nil)

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	// mu guards data: the store's mutex, or noLock for the Store that
	// Atomically hands to its function while it holds that mutex.
	mu sync.Locker
	*data
}

// data is everything the store keeps. Atomically copies it to undo a
// failed function's changes.
type data struct {
	users        map[string]*storage.User // by ID
	userByName   map[string]string        // username → ID
	groups       map[string]*storage.Group
	groupByName  map[string]string              // name → ID
	members      map[string]map[string]struct{} // group ID → user IDs
	clients      map[string]*storage.Client
	authRequests map[string]*storage.AuthRequest
	authByCode   map[string]string // code hash → request ID
	// code hash → what is left of a consumed code (RFC 6749 §4.1.2)
	codeTombstones map[string]codeTombstone
	sessions       map[string]*storage.Session
	sessionByHash  map[string]string              // token hash → session ID
	sessionClient  map[string]map[string]struct{} // session ID → client IDs
	consents       map[consentKey]*storage.Consent
	refresh        map[string]*storage.RefreshToken // by token hash
	refreshIDs     map[string]string                // ID → token hash
	deniedJTIs     map[string]time.Time             // access-token jti → its expiry
	deliveries     map[string]*storage.LogoutDelivery
	mails          map[string]*storage.Mail      // the mail outbox, by ID
	userTokens     map[string]*storage.UserToken // by hash
	keys           map[string]*storage.SigningKey
	throttles      map[string]storage.LoginThrottle       // by key; created on first use
	totp           map[string]*storage.TOTP               // by user ID
	recovery       map[string][]recoveryCode              // by user ID
	webauthn       map[string]*storage.WebAuthnCredential // by string(credential ID)
	audit          []*storage.AuditEntry                  // in insertion order
	// versions are the users' liveness versions
	// (storage.AccessTokens.LivenessVersion): every method that can end a
	// token's liveness or change what GetAccessTokenStatus returns
	// increments the versions of the users concerned (bump).
	versions map[string]int64
	// oauth holds the device flow, client assertion and PAR rows (oauth.go).
	oauth oauthData
	// initial holds initial access tokens by hash (registration.go);
	// created on first use.
	initial map[string]*storage.InitialAccessToken
	// federated are the links to upstream identities (federated.go),
	// created on first use.
	federated map[fedKey]*storage.FederatedIdentity
}

type consentKey struct{ userID, clientID string }

// New returns an empty store.
func New() *Store {
	return &Store{mu: new(sync.Mutex), data: &data{
		users:          make(map[string]*storage.User),
		versions:       make(map[string]int64),
		userByName:     make(map[string]string),
		groups:         make(map[string]*storage.Group),
		groupByName:    make(map[string]string),
		members:        make(map[string]map[string]struct{}),
		clients:        make(map[string]*storage.Client),
		authRequests:   make(map[string]*storage.AuthRequest),
		authByCode:     make(map[string]string),
		codeTombstones: make(map[string]codeTombstone),
		sessions:       make(map[string]*storage.Session),
		sessionByHash:  make(map[string]string),
		sessionClient:  make(map[string]map[string]struct{}),
		consents:       make(map[consentKey]*storage.Consent),
		refresh:        make(map[string]*storage.RefreshToken),
		refreshIDs:     make(map[string]string),
		deniedJTIs:     make(map[string]time.Time),
		deliveries:     make(map[string]*storage.LogoutDelivery),
		mails:          make(map[string]*storage.Mail),
		userTokens:     make(map[string]*storage.UserToken),
		keys:           make(map[string]*storage.SigningKey),
		totp:           make(map[string]*storage.TOTP),
		recovery:       make(map[string][]recoveryCode),
		webauthn:       make(map[string]*storage.WebAuthnCredential),
	}}
}

// Ping reports the context's error, if any: the memory store is always
// reachable.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// Close does nothing; the store stays usable.
func (s *Store) Close() {}

func notFound(what, id string) error {
	return fmt.Errorf("memory: %s %q: %w", what, id, storage.ErrNotFound)
}

func exists(what, id string) error {
	return fmt.Errorf("memory: %s %q: %w", what, id, storage.ErrAlreadyExists)
}

// Users

// CreateUser implements storage.Users.
func (s *Store) CreateUser(_ context.Context, u *storage.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return exists("user", u.ID)
	}
	if _, ok := s.userByName[u.Username]; ok {
		return exists("username", u.Username)
	}
	s.users[u.ID] = cloneUser(u)
	s.users[u.ID].Groups = nil // kept in s.members
	s.userByName[u.Username] = u.ID
	return nil
}

// GetUser implements storage.Users.
func (s *Store) GetUser(_ context.Context, id string) (*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return nil, notFound("user", id)
	}
	return s.userOut(u), nil
}

// GetUserByUsername implements storage.Users.
func (s *Store) GetUserByUsername(_ context.Context, username string) (*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.userByName[username]
	if !ok {
		return nil, notFound("username", username)
	}
	return s.userOut(s.users[id]), nil
}

// ListUsers implements storage.Users.
func (s *Store) ListUsers(context.Context) ([]*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*storage.User, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, s.userOut(u))
	}
	slices.SortFunc(out, func(a, b *storage.User) int { return cmp.Compare(a.Username, b.Username) })
	return out, nil
}

// UpdateUser implements storage.Users: fn runs under the store's mutex.
func (s *Store) UpdateUser(_ context.Context, id string, fn func(*storage.User) error) (*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return nil, notFound("user", id)
	}
	u := s.userOut(old)
	if err := fn(u); err != nil {
		return nil, err
	}
	u.ID, u.CreatedAt = old.ID, old.CreatedAt
	if other, ok := s.userByName[u.Username]; ok && other != id {
		return nil, exists("username", u.Username)
	}
	s.bump(id)
	delete(s.userByName, old.Username)
	u.Groups = nil
	s.users[id] = cloneUser(u)
	s.userByName[u.Username] = id
	return s.userOut(u), nil
}

// SetPasswordHash implements storage.Users.
func (s *Store) SetPasswordHash(_ context.Context, id, oldHash, newHash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return notFound("user", id)
	}
	if u.PasswordHash != oldHash {
		return fmt.Errorf("memory: set password hash of user %q: it changed since it was read: %w", id, storage.ErrConflict)
	}
	s.bump(id)
	u.PasswordHash = newHash
	return nil
}

// Clients

// CreateClient implements storage.Clients.
func (s *Store) CreateClient(_ context.Context, c *storage.Client) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c.ID]; ok {
		return exists("client", c.ID)
	}
	s.clients[c.ID] = cloneClient(c)
	return nil
}

// GetClient implements storage.Clients.
func (s *Store) GetClient(_ context.Context, id string) (*storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[id]
	if !ok {
		return nil, notFound("client", id)
	}
	return cloneClient(c), nil
}

// ListClients implements storage.Clients.
func (s *Store) ListClients(context.Context) ([]*storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*storage.Client, 0, len(s.clients))
	for _, id := range slices.Sorted(maps.Keys(s.clients)) {
		out = append(out, cloneClient(s.clients[id]))
	}
	return out, nil
}

// UpdateClient implements storage.Clients: fn runs under the store's
// mutex.
func (s *Store) UpdateClient(_ context.Context, id string, fn func(*storage.Client) error) (*storage.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.clients[id]
	if !ok {
		return nil, notFound("client", id)
	}
	c := cloneClient(old)
	if err := fn(c); err != nil {
		return nil, err
	}
	c.ID, c.CreatedAt = old.ID, old.CreatedAt
	s.clients[id] = cloneClient(c)
	return cloneClient(c), nil
}

// DeleteClient implements storage.Clients.
func (s *Store) DeleteClient(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[id]; !ok {
		return notFound("client", id)
	}
	delete(s.clients, id)
	s.oauth.deleteClient(id)
	// What belongs to the client goes with it, as ON DELETE CASCADE does.
	// Sessions keep the record that they served the client.
	for rid, r := range s.authRequests {
		if r.ClientID == id {
			s.deleteAuthRequest(rid)
		}
	}
	for hash, tb := range s.codeTombstones {
		if tb.clientID == id {
			delete(s.codeTombstones, hash)
		}
	}
	for key := range s.consents {
		if key.clientID == id {
			delete(s.consents, key)
		}
	}
	for hash, t := range s.refresh {
		if t.ClientID == id {
			s.bumpLiveToken(t)
			delete(s.refresh, hash)
			delete(s.refreshIDs, t.ID)
		}
	}
	for did, d := range s.deliveries {
		if d.ClientID == id {
			delete(s.deliveries, did)
		}
	}
	return nil
}

// needUser and needClient return ErrNotFound for a reference to a missing
// row, as a foreign key does. The caller holds s.mu.
func (s *Store) needUser(id string) error {
	if _, ok := s.users[id]; !ok {
		return notFound("user", id)
	}
	return nil
}

func (s *Store) needClient(id string) error {
	if _, ok := s.clients[id]; !ok {
		return notFound("client", id)
	}
	return nil
}

// Signing keys

// CreateSigningKey implements storage.SigningKeys.
func (s *Store) CreateSigningKey(_ context.Context, k *storage.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return exists("signing key", k.ID)
	}
	if k.State == storage.KeyNext || k.State == storage.KeyCurrent {
		if other := s.keyInState(k.Algorithm, k.State); other != nil {
			return fmt.Errorf("memory: signing key %q: %s already has a %s key %q: %w",
				k.ID, k.Algorithm, k.State, other.ID, storage.ErrAlreadyExists)
		}
	}
	s.keys[k.ID] = cloneKey(k)
	return nil
}

// keyInState returns the key of the algorithm in the state, if any. The
// caller holds s.mu.
func (s *Store) keyInState(alg, state string) *storage.SigningKey {
	for _, k := range s.keys {
		if k.Algorithm == alg && k.State == state {
			return k
		}
	}
	return nil
}

// ListSigningKeys implements storage.SigningKeys. Keys created at the same
// instant are ordered by ID.
func (s *Store) ListSigningKeys(context.Context) ([]*storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*storage.SigningKey, 0, len(s.keys))
	for _, k := range s.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b *storage.SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// PromoteSigningKey implements storage.SigningKeys.
func (s *Store) PromoteSigningKey(_ context.Context, id string, at, removeAfter time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return notFound("signing key", id)
	}
	if k.State != storage.KeyNext {
		return fmt.Errorf("memory: promote signing key %q: it is %s, not next: %w", id, k.State, storage.ErrConflict)
	}
	if old := s.keyInState(k.Algorithm, storage.KeyCurrent); old != nil {
		old.State, old.RetiredAt, old.RemoveAfter = storage.KeyRetired, ts(at), ts(removeAfter)
	}
	k.State, k.ActivatedAt = storage.KeyCurrent, ts(at)
	return nil
}

// UpdateSigningKeyCiphertext implements storage.SigningKeys.
func (s *Store) UpdateSigningKeyCiphertext(_ context.Context, id string, encryptedKey []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[id]
	if !ok {
		return notFound("signing key", id)
	}
	k.EncryptedKey = slices.Clone(encryptedKey)
	return nil
}

// DeleteRetiredSigningKeys implements storage.SigningKeys.
func (s *Store) DeleteRetiredSigningKeys(_ context.Context, now time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, k := range s.keys {
		if k.State == storage.KeyRetired && !k.RemoveAfter.IsZero() && k.RemoveAfter.Before(ts(now)) {
			ids = append(ids, id)
			delete(s.keys, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// DeleteSigningKey implements storage.SigningKeys.
func (s *Store) DeleteSigningKey(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[id]; !ok {
		return notFound("signing key", id)
	}
	delete(s.keys, id)
	return nil
}

// Consents

// GetConsent implements storage.Consents.
func (s *Store) GetConsent(_ context.Context, userID, clientID string) (*storage.Consent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.consents[consentKey{userID, clientID}]
	if !ok {
		return nil, notFound("consent", userID+"/"+clientID)
	}
	return cloneConsent(c), nil
}

// SaveConsent implements storage.Consents. The stored scopes are the union
// of the old and new ones (old order first, each once); GrantedAt is c's.
// ErrNotFound if the user or client does not exist.
func (s *Store) SaveConsent(_ context.Context, c *storage.Consent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := cmp.Or(s.needUser(c.UserID), s.needClient(c.ClientID)); err != nil {
		return err
	}
	key := consentKey{c.UserID, c.ClientID}
	merged := cloneConsent(c)
	merged.Scopes = nil
	if old, ok := s.consents[key]; ok {
		merged.Scopes = slices.Clone(old.Scopes)
	}
	for _, sc := range c.Scopes {
		if !slices.Contains(merged.Scopes, sc) {
			merged.Scopes = append(merged.Scopes, sc)
		}
	}
	s.consents[key] = merged
	return nil
}

// DeleteConsent implements storage.Consents.
func (s *Store) DeleteConsent(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := consentKey{userID, clientID}
	if _, ok := s.consents[key]; !ok {
		return notFound("consent", userID+"/"+clientID)
	}
	delete(s.consents, key)
	return nil
}

// Deep copies. Every slice and pointer field is copied, so values never
// share memory with the store, and every time is normalized by ts.

// ts returns t as the PostgreSQL store keeps it: UTC, truncated to
// microseconds, without a monotonic clock reading.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func cloneUser(u *storage.User) *storage.User {
	c := *u
	c.CreatedAt, c.UpdatedAt = ts(u.CreatedAt), ts(u.UpdatedAt)
	c.Attributes = storage.CloneAttributes(u.Attributes)
	c.Groups = slices.Clone(u.Groups)
	return &c
}

func cloneClient(c *storage.Client) *storage.Client {
	o := *c
	o.CreatedAt, o.UpdatedAt = ts(c.CreatedAt), ts(c.UpdatedAt)
	o.RedirectURIs = slices.Clone(c.RedirectURIs)
	o.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	o.GrantTypes = slices.Clone(c.GrantTypes)
	o.Scopes = slices.Clone(c.Scopes)
	o.AllowedGroups = slices.Clone(c.AllowedGroups)
	o.TokenExchangeAudiences = slices.Clone(c.TokenExchangeAudiences)
	o.ClaimMappings = slices.Clone(c.ClaimMappings)
	if len(o.ClaimMappings) == 0 {
		o.ClaimMappings = nil
	}
	return &o
}

func cloneAuthRequest(r *storage.AuthRequest) *storage.AuthRequest {
	o := *r
	o.Scopes = slices.Clone(r.Scopes)
	o.Prompt = slices.Clone(r.Prompt)
	o.UILocales = slices.Clone(r.UILocales)
	o.AMR = slices.Clone(r.AMR)
	o.Claims = cloneClaims(r.Claims)
	o.CreatedAt, o.ExpiresAt, o.AuthTime, o.CodeExpiresAt = ts(r.CreatedAt), ts(r.ExpiresAt), ts(r.AuthTime), ts(r.CodeExpiresAt)
	if r.MaxAge != nil {
		d := *r.MaxAge
		o.MaxAge = &d
	}
	return &o
}

func cloneSession(s *storage.Session) *storage.Session {
	o := *s
	o.AMR = slices.Clone(s.AMR)
	o.AuthTime, o.CreatedAt, o.LastSeenAt = ts(s.AuthTime), ts(s.CreatedAt), ts(s.LastSeenAt)
	o.ExpiresAt, o.RevokedAt, o.EndedAt = ts(s.ExpiresAt), ts(s.RevokedAt), ts(s.EndedAt)
	return &o
}

func cloneConsent(c *storage.Consent) *storage.Consent {
	o := *c
	o.Scopes = slices.Clone(c.Scopes)
	o.GrantedAt = ts(c.GrantedAt)
	return &o
}

func cloneRefresh(t *storage.RefreshToken) *storage.RefreshToken {
	o := *t
	o.Scopes = slices.Clone(t.Scopes)
	o.AMR = slices.Clone(t.AMR)
	o.Claims = cloneClaims(t.Claims)
	o.AuthTime, o.CreatedAt, o.ExpiresAt = ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt)
	o.FamilyExpiresAt, o.RotatedAt, o.RevokedAt = ts(t.FamilyExpiresAt), ts(t.RotatedAt), ts(t.RevokedAt)
	return &o
}

func cloneKey(k *storage.SigningKey) *storage.SigningKey {
	o := *k
	o.EncryptedKey = slices.Clone(k.EncryptedKey)
	o.CreatedAt, o.ActivatedAt = ts(k.CreatedAt), ts(k.ActivatedAt)
	o.RetiredAt, o.RemoveAfter = ts(k.RetiredAt), ts(k.RemoveAfter)
	return &o
}

// expired reports whether a value expiring at exp is unusable at now: it is
// usable while now < exp, as in storage.Session.Active. now is compared at
// microsecond precision, like everything stored.
func expired(exp, now time.Time) bool { return !ts(now).Before(exp) }

func cloneClaims(c storage.RequestedClaims) storage.RequestedClaims {
	return storage.RequestedClaims{IDToken: slices.Clone(c.IDToken), UserInfo: slices.Clone(c.UserInfo)}
}
