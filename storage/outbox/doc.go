// Package outbox delivers the items of a durable storage.Queue, the one
// mechanism behind every outbox (the mail outbox of cmd/internal/mailer,
// the back-channel logout deliveries of op.Worker):
//
//   - a Deliverer claims due items with a lease (so no two replicas send
//     one at once while it runs), sends them, and records each outcome
//     guarded by the attempt it claimed: delivered (removed), retried with
//     exponential backoff, or given up — at once for a Permanent failure,
//     otherwise after MaxAttempts — with an error-level log entry and the
//     reason kept in the store;
//   - a Loop runs a step every interval and when notified, until its
//     context ends; a step under way then finishes (bounded by a
//     deadline), and an item left unrecorded is sent again by any replica
//     once its lease runs out. Delivery is therefore at least once.
//
// It imports only package storage, so both op and cmd/internal use it.
package outbox
