// Package janitor deletes the rows nobody can use any more, in small
// batches, on every replica at once. It needs only storage.Cleanup, nothing
// of the protocol, so it lives beside the application that runs it
// (cmd/internal/app, as the "janitor" job) rather than in op; it is not in
// storage either, which holds types, the Store interface and its
// implementations, not background work.
//
// One Step, at most once per Interval (5 min), deletes:
//
//	expired auth requests and code tombstones   cut-off now
//	expired sign-in throttle counters           cut-off now
//	expired access-token deny-list entries      cut-off now
//	ended sessions                              after EndedSessionRetention (24 h)
//	dead refresh-token families                 after one more hour
//	given-up logout deliveries                  after FailedDeliveryRetention (30 d)
//	audit entries                               after Config.AuditRetention (0: never)
//	initial access tokens (registration)        expired or used up, cut-off now
package janitor
