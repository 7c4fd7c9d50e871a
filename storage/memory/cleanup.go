package memory

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// errLimit is returned for a non-positive batch limit.
var errLimit = errors.New("memory: cleanup limit must be positive")

// DeleteExpiredAuthRequests implements storage.Cleanup.
func (s *Store) DeleteExpiredAuthRequests(_ context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	requests, tombstones := 0, 0
	for id, r := range s.authRequests {
		if requests == limit {
			break
		}
		if r.ExpiresAt.Before(now) {
			s.deleteAuthRequest(id)
			requests++
		}
	}
	for hash, tb := range s.codeTombstones {
		if tombstones == limit {
			break
		}
		if tb.expiresAt.Before(now) {
			delete(s.codeTombstones, hash)
			tombstones++
		}
	}
	return requests + tombstones, nil
}

// DeleteExpiredLoginThrottles implements storage.Cleanup.
func (s *Store) DeleteExpiredLoginThrottles(_ context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return deleteWhere(s.throttles, limit, func(_ string, t storage.LoginThrottle) bool { return t.ExpiresAt.Before(ts(now)) }), nil
}

// DeleteExpiredAccessTokenRevocations implements storage.Cleanup.
func (s *Store) DeleteExpiredAccessTokenRevocations(_ context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return deleteWhere(s.deniedJTIs, limit, func(_ string, exp time.Time) bool { return exp.Before(ts(now)) }), nil
}

// DeleteExpiredGrants implements storage.Cleanup.
func (s *Store) DeleteExpiredGrants(_ context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now = ts(now)
	return deleteWhere(s.oauth.devices, limit, func(_ string, d *storage.DeviceAuthorization) bool { return d.ExpiresAt.Before(now) }) +
		deleteWhere(s.oauth.assertions, limit, func(_ assertionKey, exp time.Time) bool { return exp.Before(now) }) +
		deleteWhere(s.oauth.pushed, limit, func(_ string, r *storage.PushedRequest) bool { return r.ExpiresAt.Before(now) }) +
		deleteWhere(s.userTokens, limit, func(_ string, t *storage.UserToken) bool { return t.ExpiresAt.Before(now) }), nil
}

// DeleteEndedSessions implements storage.Cleanup.
func (s *Store) DeleteEndedSessions(_ context.Context, endedBefore time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, ss := range s.sessions {
		if n == limit {
			break
		}
		if !ss.EndedAt.IsZero() && ss.EndedAt.Before(ts(endedBefore)) {
			if ss.RevokedAt.IsZero() {
				s.bump(ss.UserID)
			}
			delete(s.sessionByHash, ss.TokenHash)
			delete(s.sessionClient, id)
			delete(s.sessions, id)
			n++
		}
	}
	return n, nil
}

// DeleteDeadRefreshFamilies implements storage.Cleanup.
func (s *Store) DeleteDeadRefreshFamilies(_ context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before = ts(before)
	type family struct{ dead, live bool }
	families := make(map[string]*family)
	for _, t := range s.refresh {
		f := families[t.FamilyID]
		if f == nil {
			f = &family{}
			families[t.FamilyID] = f
		}
		switch {
		case !t.RevokedAt.IsZero() && t.RevokedAt.Before(before):
			f.dead = true
		case !refreshEnd(t).Before(before):
			f.live = true
		}
	}
	doomed := make(map[string]bool)
	for id, f := range families {
		if len(doomed) == limit {
			break
		}
		if f.dead || !f.live {
			doomed[id] = true
		}
	}
	pruned := 0
	for hash, t := range s.refresh {
		prune := !doomed[t.FamilyID] && len(doomed)+pruned < limit && !t.RotatedAt.IsZero() && t.RevokedAt.IsZero() &&
			refreshEnd(t).Before(before)
		if prune {
			pruned++
		}
		if doomed[t.FamilyID] || prune {
			s.bumpLiveToken(t)
			delete(s.refreshIDs, t.ID)
			delete(s.refresh, hash)
		}
	}
	return len(doomed) + pruned, nil
}

// refreshEnd is when t can no longer be used, revocation aside: its own
// expiry or its family's absolute one, whichever comes first.
func refreshEnd(t *storage.RefreshToken) time.Time {
	if t.FamilyExpiresAt.Before(t.ExpiresAt) {
		return t.FamilyExpiresAt
	}
	return t.ExpiresAt
}

// DeleteFailedLogoutDeliveries implements storage.Cleanup.
func (s *Store) DeleteFailedLogoutDeliveries(_ context.Context, failedBefore time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return deleteWhere(s.deliveries, limit, func(_ string, d *storage.LogoutDelivery) bool {
		return !d.FailedAt.IsZero() && d.FailedAt.Before(ts(failedBefore))
	}), nil
}

// DeleteAuditEntries implements storage.Cleanup.
func (s *Store) DeleteAuditEntries(_ context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := make([]*storage.AuditEntry, 0, len(s.audit))
	for _, e := range s.audit {
		if e.Time.Before(ts(before)) {
			old = append(old, e)
		}
	}
	slices.SortFunc(old, func(a, b *storage.AuditEntry) int { return a.Time.Compare(b.Time) })
	if len(old) > limit {
		old = old[:limit]
	}
	gone := make(map[*storage.AuditEntry]bool, len(old))
	for _, e := range old {
		gone[e] = true
	}
	s.audit = slices.DeleteFunc(s.audit, func(e *storage.AuditEntry) bool { return gone[e] })
	return len(old), nil
}

// deleteWhere deletes up to limit entries of m for which dead holds and
// returns how many it deleted. The caller holds s.mu.
func deleteWhere[K comparable, V any](m map[K]V, limit int, dead func(K, V) bool) int {
	n := 0
	for k, v := range m {
		if n == limit {
			break
		}
		if dead(k, v) {
			delete(m, k)
			n++
		}
	}
	return n
}

// DeleteExpiredInitialAccessTokens implements storage.Cleanup.
func (s *Store) DeleteExpiredInitialAccessTokens(_ context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, errLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return deleteWhere(s.initial, limit, func(_ string, t *storage.InitialAccessToken) bool {
		return t.UsesLeft <= 0 || t.ExpiresAt.Before(ts(now))
	}), nil
}
