package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// ThrottleConfig configures sign-in throttling (security checklist S10;
// NIST SP 800-63B-4 §3.2.2; ASVS 6.3.1, 4.0.3 2.2.1; OWASP Authentication
// Cheat Sheet "Account Lockout"). Every attempt is counted, before the
// password is checked, against three counters in the store:
//
//   - Address: one client address, whatever the username (credential
//     stuffing). Refusals answer 429 with Retry-After: they say nothing about
//     any account.
//   - AccountAddress: one username from one address: the checklist's
//     exponential schedule. Refusals look exactly like a wrong password and
//     skip the password check, so a right password reveals nothing.
//   - Account: one username from every address together, against guessing
//     spread over many addresses. Only attempts the other two counters
//     admitted count here, so a single address, slowed down by
//     AccountAddress, can never lock the account for everyone else.
//
// Counters are keyed by the username as typed, whether or not such a user
// exists, so throttling behaves the same for unknown users (checklist S11).
// Every lock ends on its own (no permanent lockout by an attacker); a
// successful sign-in clears the username's counters.
type ThrottleConfig struct {
	Address        storage.ThrottlePolicy
	AccountAddress storage.ThrottlePolicy
	Account        storage.ThrottlePolicy
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (ASVS 4.1.3; RFC 9700 §4.13; CVE-2024-47070). Without them
	// the client address is the connection's RemoteAddr, whatever the
	// request's headers say.
	TrustedProxies []netip.Prefix
}

// DefaultThrottle is the policy of checklist S10 (project choice): per
// address and username, five free attempts, then locks of 1 s doubling up
// to 15 min; per address, 30 attempts a minute; per username, 50 admitted
// attempts an hour (ASVS 4.0.3 2.2.1 allows at most 100), then 15 min.
var DefaultThrottle = ThrottleConfig{
	Address:        storage.ThrottlePolicy{Window: time.Minute, Free: 30, Delay: time.Minute, MaxDelay: time.Minute},
	AccountAddress: storage.ThrottlePolicy{Window: 24 * time.Hour, Free: 5, Delay: time.Second, MaxDelay: 15 * time.Minute},
	Account:        storage.ThrottlePolicy{Window: time.Hour, Free: 50, Delay: 15 * time.Minute, MaxDelay: 15 * time.Minute},
}

// resolve fills zero policies from DefaultThrottle and validates them.
func (c ThrottleConfig) resolve() (ThrottleConfig, error) {
	var errs []error
	for _, p := range []struct {
		name      string
		got       *storage.ThrottlePolicy
		byDefault storage.ThrottlePolicy
	}{
		{"Address", &c.Address, DefaultThrottle.Address},
		{"AccountAddress", &c.AccountAddress, DefaultThrottle.AccountAddress},
		{"Account", &c.Account, DefaultThrottle.Account},
	} {
		if *p.got == (storage.ThrottlePolicy{}) {
			*p.got = p.byDefault
		}
		if err := p.got.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("web: Throttle.%s: %w", p.name, err))
		}
	}
	return c, errors.Join(errs...)
}

// verdict is the outcome of counting a sign-in attempt.
type verdict int

const (
	admitted       verdict = iota
	refusedAddress         // too many attempts from the address: 429
	refusedAccount         // the username is locked: same answer as a wrong password
)

// throttleScope names a counter in logs and keys.
type throttleScope struct {
	name   string
	policy func(*ThrottleConfig) storage.ThrottlePolicy
	key    func(addr, username string) string
	refuse verdict
}

// scopes are checked in this order; a refusal stops the count, so Account
// only sees attempts the other two admitted. Keys cannot collide: the
// address, which never contains a space, comes before the username.
var scopes = []throttleScope{
	{"address", func(c *ThrottleConfig) storage.ThrottlePolicy { return c.Address },
		func(addr, _ string) string { return "ip:" + addr }, refusedAddress},
	{"account_address", func(c *ThrottleConfig) storage.ThrottlePolicy { return c.AccountAddress },
		func(addr, u string) string { return "user-ip:" + addr + " " + u }, refusedAccount},
	{"account", func(c *ThrottleConfig) storage.ThrottlePolicy { return c.Account },
		func(_, u string) string { return "user:" + u }, refusedAccount},
}

// attempt is a counted sign-in attempt.
type attempt struct {
	verdict    verdict
	retryAfter time.Duration // for refusedAddress
	locks      []lockEvent   // counters this attempt locked, for the audit trail (lockDetail)
}

type lockEvent struct {
	scope string
	state *storage.LoginThrottle
}

// countAttempt counts a sign-in attempt for username from addr and decides
// whether the password may be checked. A store error fails closed.
func (h *Handler) countAttempt(ctx context.Context, username, addr string) (*attempt, error) {
	now := h.now()
	a := &attempt{}
	for _, s := range scopes {
		state, ok, err := h.store.RecordLoginFailure(ctx, s.key(addr, username), now, s.policy(&h.throttle))
		if err != nil {
			return nil, fmt.Errorf("web: count sign-in attempt: %w", err)
		}
		if !ok {
			// Refusals are sampled into the audit trail (refusalSampler),
			// with no user lookup: Actor is the username as typed.
			a.verdict, a.retryAfter = s.refuse, state.LockedUntil.Sub(now)
			n, record := h.refusals.record(s.key(addr, username), state.LockedUntil)
			if !record {
				return a, nil
			}
			detail := "throttled (" + s.name + ")"
			if n > 1 {
				detail += fmt.Sprintf("; %d refused attempts during this lock", n)
			}
			h.audit.Record(ctx, storage.AuditEntry{Action: storage.ActionSignInFailed, Actor: username,
				Address: addr, Detail: detail},
				"scope", s.name, "failures", state.Failures, "locked_until", state.LockedUntil, "refusals", n)
			return a, nil
		}
		if state.Locked(now) {
			a.locks = append(a.locks, lockEvent{s.name, state})
		}
	}
	return a, nil
}

// lockDetail describes the counters a failed attempt locked, for its
// audit entry ("; locked: account_address until …"), with the log-only
// attributes of each lock; both are empty when it locked none.
func lockDetail(a *attempt) (string, []any) {
	if len(a.locks) == 0 {
		return "", nil
	}
	var detail strings.Builder
	var attrs []any
	detail.WriteString("; locked:")
	for _, l := range a.locks {
		fmt.Fprintf(&detail, " %s until %s", l.scope, l.state.LockedUntil.UTC().Format(time.RFC3339))
		attrs = append(attrs, slog.Group(l.scope, "failures", l.state.Failures, "locked_until", l.state.LockedUntil))
	}
	return detail.String(), attrs
}

// clearAttempts removes the username's counters after a successful
// sign-in. The address counter stays: it limits attempts, not failures.
func (h *Handler) clearAttempts(ctx context.Context, username, addr string) {
	for _, s := range scopes[1:] {
		if err := h.store.ClearLoginFailures(ctx, s.key(addr, username)); err != nil {
			h.log.ErrorContext(ctx, "clear sign-in failures", "scope", s.name, "err", err)
		}
	}
}

// retryAfterSeconds formats a Retry-After value (RFC 9110 §10.2.3),
// rounded up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

// ClientAddr returns the request's client address as sign-in throttling
// counts it and the audit trail records it (see clientAddr); the admin
// console uses it for the entries of its changes.
func (h *Handler) ClientAddr(r *http.Request) string { return h.clientAddr(r) }

// clientAddr returns the address sign-in attempts are counted against:
// the connection's peer, or, when the peer is a trusted proxy, the nearest
// address in X-Forwarded-For that is not a trusted proxy (read from the
// right, as each proxy appends). IPv6 addresses are counted by their /64,
// which one subscriber usually holds whole. Unparsable input yields
// "unknown", which then shares one counter.
func (h *Handler) clientAddr(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "unknown"
	}
	addr := ap.Addr().Unmap()
	if h.trusted(addr) {
		addr = h.forwardedFor(r.Header.Values("X-Forwarded-For"), addr)
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// forwardedFor walks X-Forwarded-For from the right and returns the first
// address that is not a trusted proxy; if it meets garbage first, or every
// entry is trusted, it returns the last trusted hop.
func (h *Handler) forwardedFor(values []string, peer netip.Addr) netip.Addr {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	last := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return last
		}
		a = a.Unmap()
		if !h.trusted(a) {
			return a
		}
		last = a
	}
	return last
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.throttle.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
