package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// Signing-key timing. The numbers nest so that no relying party can hold a
// JWKS that lacks a key we sign with, or see a key vanish while something
// it signed is still in use:
//
//	JWKSMaxAge (5 m) + DefaultKeyRefresh (30 s) < DefaultKeyLead (1 h) ≤ DefaultKeyRotationPeriod (30 d)
//
// A new key reaches every replica's JWKS within one refresh interval, and a
// cached copy without it is at most JWKSMaxAge old after that; it signs only
// after the lead, twelve times that bound, which also absorbs clock skew
// between replicas and RPs that ignore Cache-Control for a while.
const (
	// JWKSMaxAge is the Cache-Control max-age of the JWKS (and discovery).
	JWKSMaxAge = 5 * time.Minute
	// DefaultKeyRefresh is how often Run re-reads the keys and runs the
	// rotation step: replicas serve the same JWKS within this interval
	// (checklist J7).
	DefaultKeyRefresh = 30 * time.Second
	// DefaultKeyLead is how long a next key is published before it may sign.
	DefaultKeyLead = time.Hour
	// DefaultKeyRotationPeriod is how long a key signs before the next one
	// takes over.
	DefaultKeyRotationPeriod = 30 * 24 * time.Hour
	// DefaultKeyRetention is how long a retired key is still needed to
	// verify what it signed: access tokens (5 m) and ID tokens (5 m) by
	// default, and ID tokens presented later as id_token_hint (OIDC Core
	// §3.1.2.1, RP-Initiated Logout §2 accept expired ones), which matter
	// for as long as the SSO session they came from can live (12 h by
	// default). cmd/monban raises it to the configured session max age.
	DefaultKeyRetention = 24 * time.Hour
)

// RotationPolicy is the schedule of the signing keys. Each algorithm has
// one current key (signing), one next key (published, waiting) and any
// number of retired keys (published, no longer signing):
//
//   - next → current: once the current key has signed for Period and the
//     next key has been published for Lead. The old current key retires in
//     the same atomic store operation, and a new next key is created.
//   - retired → removed: RemoveAfter = retirement + Retention + Refresh +
//     JWKSMaxAge. A replica that has not reloaded yet may still sign with
//     the key for one Refresh after it retired; J7 of the security
//     checklist asks for the extra JWKSMaxAge.
//
// Zero fields take the defaults.
type RotationPolicy struct {
	Period    time.Duration // how long a key signs; default DefaultKeyRotationPeriod
	Lead      time.Duration // minimum publication before signing; default DefaultKeyLead
	Retention time.Duration // longest use of what a key signed; default DefaultKeyRetention
	Refresh   time.Duration // Run's interval; default DefaultKeyRefresh
}

// DefaultRotationPolicy returns the policy with every default.
func DefaultRotationPolicy() RotationPolicy {
	return RotationPolicy{Period: DefaultKeyRotationPeriod, Lead: DefaultKeyLead,
		Retention: DefaultKeyRetention, Refresh: DefaultKeyRefresh}
}

// SetPolicy sets the rotation schedule after checking it: the lead must
// cover a JWKS cache lifetime plus a refresh interval, and fit in a period.
// Call it before Ensure.
func (k *Keys) SetPolicy(p RotationPolicy) error {
	def := DefaultRotationPolicy()
	setDefault(&p.Period, def.Period)
	setDefault(&p.Lead, def.Lead)
	setDefault(&p.Retention, def.Retention)
	setDefault(&p.Refresh, def.Refresh)
	if p.Lead < JWKSMaxAge+p.Refresh {
		return fmt.Errorf("key pre-publication lead %s must be at least the JWKS max-age %s plus the refresh interval %s", p.Lead, JWKSMaxAge, p.Refresh)
	}
	if p.Period < p.Lead {
		return fmt.Errorf("key rotation period %s must be at least the pre-publication lead %s", p.Period, p.Lead)
	}
	k.policy = p
	return nil
}

// Policy returns the rotation schedule.
func (k *Keys) Policy() RotationPolicy { return k.policy }

// removeAfter is when a key retired at "at" leaves the JWKS.
func (k *Keys) removeAfter(at time.Time) time.Time {
	return at.Add(k.policy.Retention + k.policy.Refresh + JWKSMaxAge)
}

// KeyEvent is one change Rotate made to the stored keys.
type KeyEvent struct {
	Action    string // "created-current", "created-next", "promoted" or "removed"
	Algorithm string // empty for "removed"
	KeyID     string
	Retired   string // for "promoted": the key that stopped signing, if any
}

// Ensure prepares the keys at start-up. It loads every stored key first,
// and fails without writing anything if one cannot be decrypted (a wrong or
// missing secret is an error, never a reason to mint new keys). Then each
// algorithm in algs that has no current key gets one: a new one when it has
// no key at all (nothing of it was ever published, so no relying party can
// hold a stale JWKS for it), its next key otherwise. Next keys and the
// schedule are Rotate's; Run starts with a Rotate.
//
// Ensure remembers algs as the algorithms to keep signing with.
func (k *Keys) Ensure(ctx context.Context, algs ...jose.SignatureAlgorithm) error {
	for _, alg := range algs {
		if !slices.Contains(SupportedAlgorithms, alg) {
			return fmt.Errorf("unsupported signing algorithm %q", alg)
		}
	}
	k.algs = slices.Clone(algs)
	if err := k.Load(ctx); err != nil {
		return err
	}
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	now := k.clock()
	var fresh []jose.SignatureAlgorithm
	for _, alg := range algs {
		cur, next := keysOf(stored, alg)
		switch {
		case cur != nil:
		case next != nil:
			if _, err := k.promote(ctx, next, nil, now); err != nil {
				return err
			}
		default:
			fresh = append(fresh, alg)
		}
	}
	if _, err := k.createKeys(ctx, fresh, storage.KeyCurrent, now); err != nil {
		return err
	}
	return k.Load(ctx)
}

// Rotate runs one step of the schedule at the clock's now, then reloads the
// keys (picking up changes other replicas made). For each algorithm it
// creates a missing current or next key, and promotes the next key when it
// is due (see RotationPolicy); then it deletes retired keys past their
// RemoveAfter.
//
// It is idempotent, and safe on every replica at once without a lock: the
// store allows one next and one current key per algorithm, so of two
// replicas creating a key one gets ErrAlreadyExists, and of two promoting
// the same next key one gets ErrConflict; the loser just reloads what the
// winner wrote.
func (k *Keys) Rotate(ctx context.Context) ([]KeyEvent, error) {
	now := k.clock()
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var events []KeyEvent
	var errs []error
	create := map[string][]jose.SignatureAlgorithm{} // state → algorithms
	for _, alg := range k.algs {
		cur, next := keysOf(stored, alg)
		switch {
		case cur == nil && next == nil:
			create[storage.KeyCurrent] = append(create[storage.KeyCurrent], alg)
		case cur == nil: // only after keys were deleted by hand
			ev, err := k.promote(ctx, next, nil, now)
			events, errs = append(events, ev...), append(errs, err)
			if len(ev) > 0 {
				create[storage.KeyNext] = append(create[storage.KeyNext], alg)
			}
		case next == nil:
			create[storage.KeyNext] = append(create[storage.KeyNext], alg)
		case !now.Before(cur.ActivatedAt.Add(k.policy.Period)) && !now.Before(next.CreatedAt.Add(k.policy.Lead)):
			ev, err := k.promote(ctx, next, cur, now)
			events, errs = append(events, ev...), append(errs, err)
			if len(ev) > 0 { // we promoted: the winner creates the next key
				create[storage.KeyNext] = append(create[storage.KeyNext], alg)
			}
		}
	}
	for _, state := range []string{storage.KeyCurrent, storage.KeyNext} {
		ev, err := k.createKeys(ctx, create[state], state, now)
		events, errs = append(events, ev...), append(errs, err)
	}
	removed, err := k.store.DeleteRetiredSigningKeys(ctx, now)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete retired signing keys: %w", err))
	}
	for _, id := range removed {
		events = append(events, KeyEvent{Action: "removed", KeyID: id})
	}
	errs = append(errs, k.Load(ctx))
	return events, errors.Join(errs...)
}

// keysOf returns the current and the next key of alg in stored.
func keysOf(stored []*storage.SigningKey, alg jose.SignatureAlgorithm) (cur, next *storage.SigningKey) {
	for _, rec := range stored {
		if rec.Algorithm != string(alg) {
			continue
		}
		switch rec.State {
		case storage.KeyCurrent:
			cur = rec
		case storage.KeyNext:
			next = rec
		}
	}
	return cur, next
}

// promote makes next current, retiring cur (which may be nil). Losing the
// race to another replica is not an error and yields no event.
func (k *Keys) promote(ctx context.Context, next, cur *storage.SigningKey, now time.Time) ([]KeyEvent, error) {
	err := k.store.PromoteSigningKey(ctx, next.ID, now, k.removeAfter(now))
	switch {
	case errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("promote signing key %s: %w", next.ID, err)
	}
	ev := KeyEvent{Action: "promoted", Algorithm: next.Algorithm, KeyID: next.ID}
	if cur != nil {
		ev.Retired = cur.ID
	}
	return []KeyEvent{ev}, nil
}

// createKeys generates a key in state for each of algs, in parallel (an
// RSA key takes about 100 ms), and stores them. A key that another replica
// created first (ErrAlreadyExists) is not an error and yields no event.
func (k *Keys) createKeys(ctx context.Context, algs []jose.SignatureAlgorithm, state string, now time.Time) ([]KeyEvent, error) {
	recs := make([]*storage.SigningKey, len(algs))
	errs := make([]error, len(algs))
	var wg sync.WaitGroup
	for i, alg := range algs {
		wg.Go(func() { recs[i], errs[i] = k.newKey(alg, state, now) })
	}
	wg.Wait()
	var events []KeyEvent
	for i, rec := range recs {
		if errs[i] != nil {
			continue
		}
		switch err := k.store.CreateSigningKey(ctx, rec); {
		case err == nil:
			events = append(events, KeyEvent{Action: "created-" + state, Algorithm: rec.Algorithm, KeyID: rec.ID})
		case !errors.Is(err, storage.ErrAlreadyExists):
			errs[i] = fmt.Errorf("store %s signing key: %w", rec.Algorithm, err)
		}
	}
	return events, errors.Join(errs...)
}

// Run runs Rotate now and then every policy.Refresh until ctx is done,
// logging what changed and what failed (a failed step is retried at the
// next tick; the last good snapshot keeps serving). Start it on every
// replica once Ensure succeeded.
func (k *Keys) Run(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(k.policy.Refresh)
	defer tick.Stop()
	for {
		events, err := k.Rotate(ctx)
		for _, e := range events {
			log.Info("signing key "+e.Action, "kid", e.KeyID, "alg", e.Algorithm, "retired", e.Retired)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("signing keys: rotation step failed; retrying", "err", err, "in", k.policy.Refresh)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// setDefault sets a zero or negative duration to def.
func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}
