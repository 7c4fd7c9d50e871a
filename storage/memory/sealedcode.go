package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// RedeemSealedCode implements storage.AuthRequests. The tombstone, the
// session's client and the refresh token are recorded under s.mu, so the
// three are one atomic step.
func (s *Store) RedeemSealedCode(_ context.Context, red *storage.CodeRedemption, r *storage.AuthRequest) (*storage.SealedRedemption, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := ts(red.Now)
	if red.CodeHash == "" || !now.Before(ts(r.CodeExpiresAt)) {
		return nil, fmt.Errorf("memory: sealed code of request %q: %w", r.ID, storage.ErrNotFound)
	}
	if tb, ok := s.codeTombstones[red.CodeHash]; ok {
		return nil, fmt.Errorf("memory: redeem sealed code: %w", &storage.CodeReusedError{
			RequestID: tb.requestID, ClientID: tb.clientID, FamilyID: tb.familyID,
		})
	}
	if _, ok := s.clients[r.ClientID]; !ok { // PostgreSQL: the tombstone's foreign key
		return nil, notFound("client", r.ClientID)
	}
	out := &storage.SealedRedemption{}
	u, userOK := s.users[r.UserID]
	if userOK {
		cv := s.userOut(u).ClaimsView()
		out.User = &cv
	}
	sess, sessOK := s.sessions[r.SessionID]
	if sessOK {
		out.Session = sessionView(sess)
	}
	out.Granted = userOK && !u.Disabled && sessOK && sess.UserID == r.UserID && sess.Active(now, red.SessionIdle) &&
		r.ClientID == red.ClientID && r.RedirectURI == red.RedirectURI && r.CodeChallenge == red.CodeChallenge &&
		(r.DPoPJKT == "" || r.DPoPJKT == red.DPoPJKT)
	if t := red.RefreshToken; t != nil && out.Granted {
		if err := s.checkNewRefresh(t); err != nil {
			return nil, err // as the one statement would fail on PostgreSQL: nothing changes
		}
		rt := cloneRefresh(t)
		rt.FamilyID, rt.ClientID, rt.UserID, rt.SessionID = red.FamilyID, r.ClientID, r.UserID, r.SessionID
		rt.Scopes, rt.AMR, rt.Claims = slices.Clone(r.Scopes), slices.Clone(r.AMR), cloneClaims(r.Claims)
		rt.AuthTime, rt.RotatedAt, rt.RevokedAt, rt.Reuses = ts(r.AuthTime), time.Time{}, time.Time{}, 0
		s.insertRefresh(rt)
		out.Stored = true
	}
	if out.Granted {
		if err := s.addSessionClient(r.SessionID, r.ClientID); err != nil {
			return nil, err // cannot happen: the session exists
		}
	}
	s.codeTombstones[red.CodeHash] = codeTombstone{
		requestID: r.ID, clientID: r.ClientID, familyID: red.FamilyID,
		expiresAt: ts(r.CodeExpiresAt.Add(storage.SealedCodeTombstoneGrace)),
	}
	return out, nil
}

// sessionView is what a code redemption returns of a session: the fields
// Session.Active reads.
func sessionView(sess *storage.Session) *storage.Session {
	return &storage.Session{ID: sess.ID, UserID: sess.UserID, ExpiresAt: sess.ExpiresAt,
		LastSeenAt: sess.LastSeenAt, RevokedAt: sess.RevokedAt}
}
