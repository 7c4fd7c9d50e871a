// Package mailer delivers the mail outbox (storage.Outbox, issue 16).
//
// Messages are written to the outbox by whatever caused them, in the same
// transaction; the Worker, which runs on every replica as a job of
// cmd/internal/app, delivers them through a Sender with the claim, lease,
// backoff and give-up rules of package storage/outbox, which the
// back-channel logout outbox (op.Worker) shares. A failed attempt is
// retried with exponential backoff (30 s doubling, capped at an hour)
// until MaxAttempts, after which the message is given up with its reason
// kept (`monban mail failed`).
//
// Two Senders exist: SMTP (ParseURL, NewSMTP; github.com/wneessen/go-mail,
// which encodes every header itself) and Dev, which keeps the last
// messages in memory for the dev-only page /dev/mail and prints them to
// the log instead of sending anything (`monban serve --dev`).
//
// Every message carries a Message-ID derived from its outbox ID, so a
// receiver (and a test) can tell a resent message from a new one.
package mailer
