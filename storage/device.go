package storage

import (
	"context"
	"crypto/rand"
	"strings"
	"time"
)

// Device authorization states (RFC 8628 §3.4–3.5).
const (
	DevicePending  = "pending"  // waiting for the person at the user-code page
	DeviceApproved = "approved" // approved; the next poll gets the tokens
	DeviceDenied   = "denied"   // the person refused: access_denied
	DeviceIssued   = "issued"   // the tokens were issued once; the code is spent
)

// DeviceAuthorization is one device authorization request (RFC 8628
// §3.1–3.2): the device polls with the device code (kept only as its
// hash), the person enters the user code at the user-code page.
type DeviceAuthorization struct {
	ID             string
	DeviceCodeHash string // HashToken of the device code
	// UserCode is the normalised user code (upper-case letters, no
	// separator), unique among stored authorizations.
	UserCode  string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time
	// Interval is the minimum time between two polls (RFC 8628 §3.5);
	// every poll that comes sooner adds 5 seconds to it.
	Interval     time.Duration
	LastPolledAt time.Time // zero before the first poll
	Status       string    // DevicePending, DeviceApproved, DeviceDenied or DeviceIssued
	// Who approved, once approved.
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
}

// DeviceDecision is the person's answer at the user-code page.
type DeviceDecision struct {
	Approved  bool
	UserID    string
	SessionID string
	AuthTime  time.Time
	AMR       []string
}

// DevicePoll is what a poll at the token endpoint finds (RFC 8628 §3.5).
type DevicePoll int

// The answers of DeviceAuthorization.Poll.
const (
	PollPending  DevicePoll = iota // authorization_pending
	PollSlowDown                   // slow_down: polled before Interval passed
	PollExpired                    // expired_token
	PollDenied                     // access_denied
	PollApproved                   // issue the tokens, now, once
	PollSpent                      // the tokens were issued already: invalid_grant
)

// SlowDownStep is what RFC 8628 §3.5 adds to the interval after a
// slow_down answer.
const SlowDownStep = 5 * time.Second

// Poll applies one poll at now to d and reports the answer; the stores
// call it under a lock on d and write d back. Every poll before expiry
// sets LastPolledAt; one sooner than Interval after the previous one
// also lengthens Interval by SlowDownStep (RFC 8628 §3.5: "for this and
// all subsequent requests") and is answered slow_down whatever the
// state, so a device that polls too fast learns nothing until it slows
// down. An approved authorization becomes DeviceIssued: its tokens are
// issued at most once.
func (d *DeviceAuthorization) Poll(now time.Time) DevicePoll {
	if d.Status == DeviceIssued {
		return PollSpent
	}
	if !now.Before(d.ExpiresAt) {
		return PollExpired
	}
	early := !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < d.Interval
	d.LastPolledAt = now
	if early {
		d.Interval += SlowDownStep
		return PollSlowDown
	}
	switch d.Status {
	case DeviceApproved:
		d.Status = DeviceIssued
		return PollApproved
	case DeviceDenied:
		return PollDenied
	}
	return PollPending
}

// DeviceAuthorizations stores device authorization requests (RFC 8628).
// Expired rows are deleted by CreateDeviceAuthorization itself.
type DeviceAuthorizations interface {
	// CreateDeviceAuthorization inserts d (Status DevicePending), after
	// deleting every authorization that expired before now.
	// ErrAlreadyExists if the ID, the device code hash or the user code
	// is taken (the caller draws another code); ErrNotFound for an
	// unknown client.
	CreateDeviceAuthorization(ctx context.Context, d *DeviceAuthorization, now time.Time) error
	// GetDeviceAuthorizationByUserCode returns the pending authorization
	// with the normalised user code that is not expired at now, or
	// ErrNotFound (unknown, expired or already answered look alike).
	GetDeviceAuthorizationByUserCode(ctx context.Context, userCode string, now time.Time) (*DeviceAuthorization, error)
	// DecideDeviceAuthorization records the person's answer on the
	// pending authorization id, if it is not expired at now: Approved
	// with who approved, or Denied. ErrNotFound if absent or expired;
	// ErrConflict if it was answered already.
	DecideDeviceAuthorization(ctx context.Context, id string, dec DeviceDecision, now time.Time) error
	// PollDeviceAuthorization applies DeviceAuthorization.Poll at now to
	// the client's authorization whose device code hashes to
	// deviceCodeHash, under a lock, and returns it as it was after the
	// poll with the answer. Of concurrent polls of an approved
	// authorization exactly one gets PollApproved. ErrNotFound if there is
	// no such authorization, or it is another client's (which it leaves
	// untouched: RFC 8628 §3.4, the code is bound to its client).
	PollDeviceAuthorization(ctx context.Context, clientID, deviceCodeHash string, now time.Time) (*DeviceAuthorization, DevicePoll, error)
}

// userCodeAlphabet is the 20 consonants of RFC 8628 §6.1's example: no
// vowels (no words), no letters that look like digits or each other.
// Eight of them give 20^8 ≈ 2^34.6 codes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// userCodeLen is the number of characters of a user code.
const userCodeLen = 8

// NewUserCode draws a user code, normalised (no separator).
func NewUserCode() string {
	b := make([]byte, userCodeLen)
	for i := range b {
		// Unbiased: 256 is not a multiple of 20, so bytes ≥ 240 are
		// drawn again.
		for {
			var one [1]byte
			_, _ = rand.Read(one[:])
			if one[0] < 240 {
				b[i] = userCodeAlphabet[one[0]%20]
				break
			}
		}
	}
	return string(b)
}

// NormalizeUserCode turns what a person typed into a stored user code:
// upper case, without dashes and spaces (RFC 8628 §6.1: case-insensitive,
// punctuation ignored). ok is false when the result cannot be a user code.
func NormalizeUserCode(typed string) (code string, ok bool) {
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case strings.ContainsRune(userCodeAlphabet, r):
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	if b.Len() != userCodeLen {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows a normalised user code as people read it:
// WDJB-MJHT.
func FormatUserCode(code string) string {
	if len(code) != userCodeLen {
		return code
	}
	return code[:4] + "-" + code[4:]
}
