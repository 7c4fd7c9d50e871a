// Package storagetest is the conformance suite every storage.Store backend
// must pass. A backend opts in with a tiny test file:
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return memory.New() })
//	}
//
// The suite is the definition of "behaves identically": every rule a caller
// may rely on (error sentinels, ordering, copies, atomicity, expiry
// boundaries) is asserted here, so the memory and PostgreSQL stores cannot
// drift apart silently.
//
// Rules the suite pins where the storage.Store doc comments leave room
// (each is a named subtest, so a backend that disagrees fails by name):
//   - Expiry compares against the now argument, never the wall clock. A value
//     that expires at E is usable while now < E (as in Session.Active);
//     DeleteExpiredAuthRequests removes requests with ExpiresAt < now.
//   - Times come back in UTC, truncated to microseconds (PostgreSQL's
//     precision), and now is compared at that precision.
//   - A nil slice comes back nil and an empty one empty; a nil MaxAge stays
//     nil and a zero one stays zero.
//   - Rows that belong to a user or a client (sessions, auth requests,
//     consents, refresh tokens) cannot be created for a missing one
//     (ErrNotFound); DeleteClient deletes the client's auth requests (and
//     code tombstones), consents and refresh tokens.
//   - Revoking keeps the first revocation time, for sessions and refresh
//     tokens alike. A revoked or expired refresh token is ErrNotFound even if
//     it was also rotated; only a rotated, unrevoked, unexpired one is a
//     reuse. A failed rotation (including a taken successor ID or hash,
//     ErrAlreadyExists) changes nothing.
//   - "Live" means not revoked: ListUserSessions and RevokeUserSessions
//     include sessions past ExpiresAt (the store has no clock), and
//     RevokeSessionRefreshTokens revokes rotated tokens too.
//   - AuthenticateAuthRequest replaces an earlier authentication until a
//     code is issued. SetAuthRequestConsent(granted) leaves exactly one of
//     ConsentGranted and Denied set. consumeCode("") matches nothing.
//   - A consumed code's tombstone reports every replay as ErrCodeReused
//     with the first consume's FamilyID until cleanup removes it, which
//     happens once the code's expiry is before now (not the request's);
//     an expired code leaves no tombstone. DeleteClient removes the
//     client's tombstones.
//   - SaveConsent keeps each scope once and takes GrantedAt from its
//     argument. AddSessionClient works on a revoked session, and
//     ListSessionClients of an unknown session is empty, not an error.
//   - A refresh family with one revoked member is revoked as a whole, and a
//     family without members counts as revoked. The reuse grace window is
//     open while now < RotatedAt + Window.
//   - Atomically is all or nothing on every store, nested calls like
//     savepoints; UpdateUser and UpdateClient lock the row, so concurrent
//     updaters of different fields all survive, and SetPasswordHash writes
//     only over the hash it was given (no lost updates, issue 12).
//   - A deny-list entry is removed once its expiry is before now. A
//     session is due for ending when revoked, when ExpiresAt <= now, or
//     when LastSeenAt + idle <= now. Items of every outbox (storage.Queue,
//     one suite for all: queue.go) due at the same instant are claimed in
//     ID order; delivered ones are deleted.
//
// Conventions of the suite itself:
//   - Errors are matched with errors.Is, so backends may (and should) wrap
//     the sentinels with context.
//   - Fixture times are UTC with microsecond precision and are compared with
//     time.Time.Equal. Durations are whole seconds.
//   - Outside SlicesNilVsEmpty, a nil slice and an empty slice are equal.
//   - Rows that others reference are created first.
//   - Usernames and client IDs in ordering tests are lower-case ASCII, so
//     byte order and any database collation agree.
package storagetest

import (
	"testing"

	"github.com/monban-idp/monban/storage"
)

// Run runs the conformance suite as named subtests of t. Every subtest calls
// newStore for a fresh, empty store; newStore should register any cleanup
// (such as Close) with t.Cleanup. The subtests do not call t.Parallel, so a
// backend may share one database between them if newStore empties it.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []storeTest{
		{"Ping", testPing},
		{"TOTPFactor", testTOTPFactor},
		{"RecoveryCodes", testRecoveryCodes},
		{"FactorsGoWithUser", testFactorsGoWithUser},
		{"WebAuthnCredentials", testWebAuthnCredentials},
		{"WebAuthnSignCount", testWebAuthnSignCount},
		{"WebAuthnGoesWithUser", testWebAuthnGoesWithUser},
		{"UserCRUD", testUserCRUD},
		{"ClientCRUD", testClientCRUD},
		{"AuthRequestLifecycle", testAuthRequestLifecycle},
		{"AuthRequestConsent", testAuthRequestConsent},
		{"AuthCodeSingleUse", testAuthCodeSingleUse},
		{"AuthCodeExpiry", testAuthCodeExpiry},
		{"RedeemAuthCode", testRedeemAuthCode},
		{"RedeemSealedCode", testRedeemSealedCode},
		{"SealedTombstoneGrace", testSealedTombstoneGrace},
		{"ExpiredAuthRequestCleanup", testExpiredAuthRequestCleanup},
		{"SessionLifecycle", testSessionLifecycle},
		{"SessionList", testSessionList},
		{"SessionClientInfo", testSessionClientInfo},
		{"SessionClients", testSessionClients},
		{"RenewSession", testRenewSession},
		{"Consent", testConsent},
		{"UserConsents", testUserConsents},
		{"UserRefreshClients", testUserRefreshClients},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshReuseRevokesFamily", testRefreshReuseRevokesFamily},
		{"RefreshExpiry", testRefreshExpiry},
		{"RevokeRefreshFamily", testRevokeRefreshFamily},
		{"RevokeSessionRefreshTokens", testRevokeSessionRefreshTokens},
		{"RevokeUserRefreshTokens", testRevokeUserRefreshTokens},
		{"RefreshReuseGrace", testRefreshReuseGrace},
		{"PartlyRevokedFamily", testPartlyRevokedFamily},
		{"AccessTokenDenyList", testAccessTokenDenyList},
		{"AccessTokenStatus", testAccessTokenStatus},
		{"LivenessVersion", testLivenessVersion},
		{"EndSession", testEndSession},
		{"ListSessionsToEnd", testListSessionsToEnd},
		{"LogoutDeliveryClient", testLogoutDeliveryClient},
		{"SigningKeys", testSigningKeys},
		{"ReferencedRowsMustExist", testReferencedRowsMustExist},
		{"DeleteClientCascades", testDeleteClientCascades},
		{"ConcurrentClientDelete", testConcurrentClientDelete},
		{"ConcurrentUserDelete", testConcurrentUserDelete},
		{"TimesUTCMicroseconds", testTimesUTCMicroseconds},
		{"SlicesNilVsEmpty", testSlicesNilVsEmpty},
		{"ConcurrentCodeConsume", testConcurrentCodeConsume},
		{"ConcurrentCodeRedeem", testConcurrentCodeRedeem},
		{"ConcurrentSealedRedeem", testConcurrentSealedRedeem},
		{"ConcurrentCodeIssue", testConcurrentCodeIssue},
		{"ConcurrentRefreshRotate", testConcurrentRefreshRotate},
		{"RotateRefreshGrant", testRotateRefreshGrant},
		{"ConcurrentRotateRefreshGrant", testConcurrentRotateRefreshGrant},
		{"ConcurrentRefreshRotateGrace", testConcurrentRefreshRotateGrace},
		{"ConcurrentConsentSave", testConcurrentConsentSave},
		{"ConcurrentSessionClientAdd", testConcurrentSessionClientAdd},
		{"LoginThrottleSchedule", testLoginThrottleSchedule},
		{"LoginThrottleWindow", testLoginThrottleWindow},
		{"ConcurrentLoginFailures", testConcurrentLoginFailures},
		{"ConcurrentLoginFailuresAndClears", testConcurrentLoginFailuresAndClears},
		{"ConcurrentEndSession", testConcurrentEndSession},
		{"AuditLog", testAuditLog},
		{"GetRefreshGrant", testGetRefreshGrant},
		{"GetSessionWithUserActive", testGetSessionWithUserActive},
		{"CreateSessionAuthRequest", testCreateSessionAuthRequest},
		{"CleanupBatches", testCleanupBatches},
		{"DeleteEndedSessions", testDeleteEndedSessions},
		{"DeleteDeadRefreshFamilies", testDeleteDeadRefreshFamilies},
		{"DeleteFailedLogoutDeliveries", testDeleteFailedLogoutDeliveries},
		{"DeleteAuditEntries", testDeleteAuditEntries},
		{"Atomically", testAtomically},
		{"ConcurrentAtomically", testConcurrentAtomically},
		{"RehashVersusDisable", testRehashVersusDisable},
		{"RehashVersusReset", testRehashVersusReset},
		{"ConcurrentUserEdits", testConcurrentUserEdits},
		{"ConcurrentClientEdits", testConcurrentClientEdits},
		{"Groups", testGroups},
		{"DeleteUser", testDeleteUser},
		{"ListUsersPage", testListUsersPage},
		{"ListGroupsAndClients", testListGroupsAndClients},
		{"ListSessionsPage", testListSessionsPage},
		{"CountRows", testCountRows},
		{"UserTokens", testUserTokens},
		{"ConcurrentUserTokenConsume", testConcurrentUserTokenConsume},
	}
	tests = append(tests, oauthTests...)        // issue 19: oauth.go
	tests = append(tests, groupUpdateTests...)  // issue 20: groupupdate.go
	tests = append(tests, registrationTests...) // issue 19: registration.go
	tests = append(tests, federatedTests...)    // issue 18: federated.go
	tests = append(tests, queueTests...)        // every outbox: queue.go
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func testPing(t *testing.T, s storage.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
