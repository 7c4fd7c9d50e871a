package storage

import (
	"context"
	"time"
)

// Cleanup deletes rows nobody can use any more, for the janitor. Each
// method is one short statement that deletes at most limit rows (limit
// must be positive) and returns how many it deleted, so a caller works in
// small batches, calling again while the count reaches limit, and never
// holds locks on a large table for long. Each takes a cut-off time and is
// idempotent, so every replica may run them at once: a row is deleted by
// whichever gets there first.
type Cleanup interface {
	// DeleteExpiredAuthRequests removes up to limit requests that expired
	// before now and up to limit code tombstones whose code expired before
	// now, and returns how many of both it removed.
	DeleteExpiredAuthRequests(ctx context.Context, now time.Time, limit int) (int, error)
	// DeleteExpiredLoginThrottles removes up to limit counters whose
	// ExpiresAt is before now.
	DeleteExpiredLoginThrottles(ctx context.Context, now time.Time, limit int) (int, error)
	// DeleteExpiredAccessTokenRevocations removes up to limit deny-list
	// entries whose token expired before now.
	DeleteExpiredAccessTokenRevocations(ctx context.Context, now time.Time, limit int) (int, error)
	// DeleteExpiredGrants removes up to limit of each of: device
	// authorizations, client-assertion jtis, pushed authorization requests
	// and single-use user tokens (password reset, e-mail verification)
	// that expired before now, and returns how many rows went. Their own
	// reads already treat an expired row as absent; this keeps the tables
	// small without a delete on every request.
	DeleteExpiredGrants(ctx context.Context, now time.Time, limit int) (int, error)
	// DeleteEndedSessions removes up to limit sessions whose end was
	// handled (EndedAt set, so their back-channel logout is already
	// enqueued) before endedBefore, with the list of clients they served.
	// A token naming a deleted session is inactive, as for an ended one.
	DeleteEndedSessions(ctx context.Context, endedBefore time.Time, limit int) (int, error)
	// DeleteDeadRefreshFamilies removes every token of up to limit
	// families that can never be used again: a member was revoked before
	// `before`, or every member ended before it (its own expiry or the
	// family's absolute one). Dead families go whole, so a half-deleted
	// revoked family never looks live again; a family with no tokens left
	// counts as revoked. It also removes, within the same limit, rotated unrevoked
	// members of other families that ended before `before`: presenting
	// such a token is refused as expired, never detected as reuse (RFC
	// 9700 §4.14.2 detection needs the live rotated tokens, which stay),
	// and the family keeps its head. It returns how many families and
	// rotated members it removed.
	DeleteDeadRefreshFamilies(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteFailedLogoutDeliveries removes up to limit deliveries given up
	// before failedBefore. (Delivered ones are removed at once by
	// Queue.Complete.)
	DeleteFailedLogoutDeliveries(ctx context.Context, failedBefore time.Time, limit int) (int, error)
	// DeleteAuditEntries removes up to limit audit entries older than
	// before, oldest first (the retention of the audit trail).
	DeleteAuditEntries(ctx context.Context, before time.Time, limit int) (int, error)
	// DeleteExpiredInitialAccessTokens removes up to limit initial access
	// tokens of dynamic client registration (InitialAccessTokens) that
	// expired before now or have no uses left: neither can authorise a
	// registration again.
	DeleteExpiredInitialAccessTokens(ctx context.Context, now time.Time, limit int) (int, error)
}
