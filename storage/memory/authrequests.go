package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// CreateAuthRequest implements storage.AuthRequests. ErrNotFound if the
// client does not exist.
func (s *Store) CreateAuthRequest(_ context.Context, r *storage.AuthRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createAuthRequest(r)
}

// CreateSessionAuthRequest implements storage.AuthRequests.
func (s *Store) CreateSessionAuthRequest(_ context.Context, r *storage.AuthRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[r.SessionID]; !ok {
		return notFound("session", r.SessionID)
	}
	if err := s.createAuthRequest(r); err != nil {
		return err
	}
	return s.addSessionClient(r.SessionID, r.ClientID)
}

// createAuthRequest is CreateAuthRequest; the caller holds s.mu.
func (s *Store) createAuthRequest(r *storage.AuthRequest) error {
	if _, ok := s.authRequests[r.ID]; ok {
		return exists("auth request", r.ID)
	}
	if err := s.needClient(r.ClientID); err != nil {
		return err
	}
	if r.CodeHash != "" {
		if _, ok := s.authByCode[r.CodeHash]; ok {
			return exists("auth code for request", r.ID)
		}
		s.authByCode[r.CodeHash] = r.ID
	}
	s.authRequests[r.ID] = cloneAuthRequest(r)
	return nil
}

// GetAuthRequest implements storage.AuthRequests.
func (s *Store) GetAuthRequest(_ context.Context, id string) (*storage.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.authRequests[id]
	if !ok {
		return nil, notFound("auth request", id)
	}
	return cloneAuthRequest(r), nil
}

// pendingAuthRequest returns the stored request that has no code yet, or
// ErrNotFound / ErrConflict. The caller holds s.mu.
func (s *Store) pendingAuthRequest(id string) (*storage.AuthRequest, error) {
	r, ok := s.authRequests[id]
	if !ok {
		return nil, notFound("auth request", id)
	}
	if r.CodeHash != "" {
		return nil, fmt.Errorf("memory: auth request %q already has a code: %w", id, storage.ErrConflict)
	}
	return r, nil
}

// AuthenticateAuthRequest implements storage.AuthRequests. It replaces any
// earlier authentication of the request.
func (s *Store) AuthenticateAuthRequest(_ context.Context, id string, res storage.AuthResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.pendingAuthRequest(id)
	if err != nil {
		return err
	}
	r.UserID, r.SessionID, r.AuthTime = res.UserID, res.SessionID, ts(res.AuthTime)
	r.AMR = slices.Clone(res.AMR)
	return nil
}

// SetAuthRequestConsent implements storage.AuthRequests. The answer replaces
// any earlier one: ConsentGranted = granted, Denied = !granted.
func (s *Store) SetAuthRequestConsent(_ context.Context, id string, granted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.pendingAuthRequest(id)
	if err != nil {
		return err
	}
	r.ConsentGranted, r.Denied = granted, !granted
	return nil
}

// IssueAuthCode implements storage.AuthRequests.
func (s *Store) IssueAuthCode(_ context.Context, id, codeHash string, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.pendingAuthRequest(id)
	if err != nil {
		return err
	}
	if codeHash == "" {
		return fmt.Errorf("memory: auth request %q: empty code hash: %w", id, storage.ErrConflict)
	}
	if _, ok := s.authByCode[codeHash]; ok {
		return exists("auth code for request", id)
	}
	r.CodeHash, r.CodeExpiresAt = codeHash, ts(expiresAt)
	s.authByCode[codeHash] = id
	return nil
}

// RedeemAuthCode implements storage.AuthRequests. The request is removed,
// its code's tombstone recorded (RFC 6749 §4.1.2) and the refresh token
// stored under s.mu, so the three are one atomic step.
func (s *Store) RedeemAuthCode(_ context.Context, red *storage.CodeRedemption) (*storage.AuthRequest, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if red.CodeHash == "" {
		return nil, false, fmt.Errorf("memory: auth code: %w", storage.ErrNotFound)
	}
	id, ok := s.authByCode[red.CodeHash]
	if !ok {
		if tb, ok := s.codeTombstones[red.CodeHash]; ok {
			return nil, false, fmt.Errorf("memory: consume auth code: %w", &storage.CodeReusedError{
				RequestID: tb.requestID, ClientID: tb.clientID, FamilyID: tb.familyID,
			})
		}
		return nil, false, fmt.Errorf("memory: auth code: %w", storage.ErrNotFound)
	}
	r := s.authRequests[id]
	s.deleteAuthRequest(id)
	if expired(r.CodeExpiresAt, red.Now) {
		return nil, false, fmt.Errorf("memory: auth code of request %q expired: %w", id, storage.ErrNotFound)
	}
	r.FamilyID = red.FamilyID
	s.codeTombstones[red.CodeHash] = codeTombstone{
		requestID: r.ID, clientID: r.ClientID, familyID: r.FamilyID, expiresAt: r.CodeExpiresAt,
	}
	u, ok := s.users[r.UserID]
	if ok {
		cv := s.userOut(u).ClaimsView()
		r.User = &cv
	}
	sessionLive := r.SessionID == ""
	if sess, found := s.sessions[r.SessionID]; found {
		r.Session = sessionView(sess)
		sessionLive = sess.UserID == r.UserID && sess.Active(ts(red.Now), red.SessionIdle)
	}
	stored := false
	if t := red.RefreshToken; t != nil && ok && !u.Disabled && sessionLive && r.ClientID == red.ClientID &&
		r.RedirectURI == red.RedirectURI && r.CodeChallenge == red.CodeChallenge &&
		(r.DPoPJKT == "" || r.DPoPJKT == red.DPoPJKT) {
		if err := s.checkNewRefresh(t); err != nil {
			// As the one statement would fail on PostgreSQL: nothing
			// changes, the code included.
			s.restoreAuthRequest(r)
			return nil, false, err
		}
		rt := cloneRefresh(t)
		rt.FamilyID, rt.ClientID, rt.UserID, rt.SessionID = r.FamilyID, r.ClientID, r.UserID, r.SessionID
		rt.Scopes, rt.AMR, rt.Claims = slices.Clone(r.Scopes), slices.Clone(r.AMR), cloneClaims(r.Claims)
		rt.AuthTime, rt.RotatedAt, rt.RevokedAt, rt.Reuses = ts(r.AuthTime), time.Time{}, time.Time{}, 0
		s.insertRefresh(rt)
		stored = true
	}
	return r, stored, nil // removed from the store, so no copy is needed
}

// restoreAuthRequest undoes a consume of r whose redemption failed. The
// caller holds s.mu.
func (s *Store) restoreAuthRequest(r *storage.AuthRequest) {
	delete(s.codeTombstones, r.CodeHash)
	r.FamilyID, r.User, r.Session = "", nil, nil
	s.authRequests[r.ID] = r
	s.authByCode[r.CodeHash] = r.ID
}

// DeleteAuthRequest implements storage.AuthRequests.
func (s *Store) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.authRequests[id]; !ok {
		return notFound("auth request", id)
	}
	s.deleteAuthRequest(id)
	return nil
}

// deleteAuthRequest removes the request and its code index. The caller
// holds s.mu.
func (s *Store) deleteAuthRequest(id string) {
	if r, ok := s.authRequests[id]; ok && r.CodeHash != "" {
		delete(s.authByCode, r.CodeHash)
	}
	delete(s.authRequests, id)
}

// codeTombstone is what remains of a consumed authorization code until the
// code's expiry: enough to recognise a replay and name the family to revoke
// (RFC 6749 §4.1.2).
type codeTombstone struct {
	requestID, clientID, familyID string
	expiresAt                     time.Time
}
