package keys

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestRotationKeepsOldTokensAndPrePublishesNewKey is issue #4's "must show"
// 1 (checklist J7), on the default schedule and a test clock: the next key
// is in the JWKS from the moment it exists and signs only a rotation period
// later; a token signed before the rotation verifies against the JWKS after
// it, until the retired key's RemoveAfter, and not after.
func TestRotationKeepsOldTokensAndPrePublishesNewKey(t *testing.T) {
	clock := newKeyClock()
	t0 := clock.Now()
	store := memory.New()
	k := ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.RS256, jose.ES256)
	rotateKeys(t, k) // pre-publishes the next keys
	checkOneCurrentOneNext(t, store, jose.RS256, jose.ES256)

	k1 := keyStatesOf(t, store, jose.RS256)[storage.KeyCurrent][0].ID
	k2 := keyStatesOf(t, store, jose.RS256)[storage.KeyNext][0].ID
	jwks0, _ := k.JWKS()
	if kids := jwksKIDs(t, jwks0); !kids[k1] || !kids[k2] {
		t.Fatalf("JWKS at t0 has %v, want the current key %s and the next key %s", kids, k1, k2)
	}
	old, kid := signWithKeys(t, k, jose.RS256)
	if kid != k1 {
		t.Fatalf("token signed with %s, want the current key %s (the next key must not sign yet)", kid, k1)
	}

	// One second before the period ends nothing changes.
	clock.Set(t0.Add(DefaultKeyRotationPeriod - time.Second))
	if events := rotateKeys(t, k); len(events) != 0 {
		t.Fatalf("Rotate before the period ended: %+v", events)
	}
	if _, kid := signWithKeys(t, k, jose.RS256); kid != k1 {
		t.Fatalf("signed with %s before the period ended, want %s", kid, k1)
	}

	// At the end of the period the next key, published since t0, signs.
	clock.Set(t0.Add(DefaultKeyRotationPeriod))
	rotated := clock.Now()
	rotateKeys(t, k)
	checkOneCurrentOneNext(t, store, jose.RS256, jose.ES256)
	_, kid = signWithKeys(t, k, jose.RS256)
	if kid != k2 {
		t.Fatalf("after the rotation tokens are signed with %s, want the pre-published %s", kid, k2)
	}
	if !jwksKIDs(t, jwks0)[kid] || rotated.Sub(t0) < DefaultKeyLead {
		t.Fatalf("key %s signs %s after it was published, want at least %s", kid, rotated.Sub(t0), DefaultKeyLead)
	}
	retired := keyStatesOf(t, store, jose.RS256)[storage.KeyRetired]
	wantRemove := rotated.Add(DefaultKeyRetention + DefaultKeyRefresh + JWKSMaxAge)
	if len(retired) != 1 || retired[0].ID != k1 || !retired[0].RetiredAt.Equal(rotated) || !retired[0].RemoveAfter.Equal(wantRemove) {
		t.Fatalf("retired keys %+v, want %s retired at %s, removable after %s", retired, k1, rotated, wantRemove)
	}

	verifies := func(when string, want bool) {
		t.Helper()
		jwks, _ := k.JWKS()
		err := verifyWithJWKS(jwks, old)
		if (err == nil) != want {
			t.Fatalf("%s: old token verifies against the JWKS: %v, want %v", when, err, want)
		}
		if _, err := k.Verify(old, typIDToken); (err == nil) != want {
			t.Fatalf("%s: Keys.Verify(old token) = %v, want ok=%v", when, err, want)
		}
	}
	verifies("right after the rotation", true)
	clock.Set(wantRemove)
	rotateKeys(t, k)
	verifies("at RemoveAfter", true)
	clock.Advance(time.Second)
	events := rotateKeys(t, k)
	verifies("after RemoveAfter", false)
	if !slices.Contains(events, KeyEvent{Action: "removed", KeyID: k1}) {
		t.Errorf("events after RemoveAfter = %+v, want the removal of %s", events, k1)
	}
}

// TestRotationSchedule simulates ten rotations, stepping the clock ten
// minutes at a time with a token signed at each step, and checks the
// schedule's promises for every token: its key was published at least the
// lead before it signed, and stayed published at least the retention after.
func TestRotationSchedule(t *testing.T) {
	policy := RotationPolicy{Period: 24 * time.Hour, Lead: time.Hour, Retention: 6 * time.Hour, Refresh: DefaultKeyRefresh}
	const step, days = 10 * time.Minute, 10
	clock := newKeyClock()
	t0 := clock.Now()
	store := memory.New()
	k := New(store, keysKEK(t, kekSecretA), clock.Now)
	if err := k.SetPolicy(policy); err != nil {
		t.Fatal(err)
	}
	if err := k.Ensure(t.Context(), jose.ES256); err != nil {
		t.Fatal(err)
	}
	bootstrap := keyStatesOf(t, store, jose.ES256)[storage.KeyCurrent][0].ID
	type signed struct {
		kid string
		at  time.Time
		tok string
	}
	var tokens []signed
	firstSeen, lastSeen := map[string]time.Time{}, map[string]time.Time{}
	promotions := 0
	for now := t0; now.Before(t0.Add(days * 24 * time.Hour)); now = now.Add(step) {
		clock.Set(now)
		for _, e := range rotateKeys(t, k) {
			if e.Action == "promoted" {
				promotions++
			}
		}
		checkOneCurrentOneNext(t, store, jose.ES256)
		jwks, _ := k.JWKS()
		for kid := range jwksKIDs(t, jwks) {
			if _, ok := firstSeen[kid]; !ok {
				firstSeen[kid] = now
			}
			lastSeen[kid] = now
		}
		tok, kid := signWithKeys(t, k, jose.ES256)
		tokens = append(tokens, signed{kid, now, tok})
		// The token signed one retention ago still verifies, as a relying
		// party would check it.
		if i := len(tokens) - 1 - int(policy.Retention/step); i >= 0 {
			if err := verifyWithJWKS(jwks, tokens[i].tok); err != nil {
				t.Fatalf("at %s, a token signed at %s no longer verifies: %v", now, tokens[i].at, err)
			}
		}
	}
	end := clock.Now()
	if promotions < days-1 {
		t.Fatalf("%d promotions in %d days, want about one a day", promotions, days)
	}
	for _, tok := range tokens {
		if tok.kid != bootstrap && tok.at.Sub(firstSeen[tok.kid]) < policy.Lead {
			t.Fatalf("key %s signed at %s, published only since %s", tok.kid, tok.at, firstSeen[tok.kid])
		}
		if keep := tok.at.Add(policy.Retention); keep.Before(end) && lastSeen[tok.kid].Before(keep) {
			t.Fatalf("key %s signed at %s and left the JWKS at %s, before %s", tok.kid, tok.at, lastSeen[tok.kid], keep)
		}
	}
}

// TestRotationWaitsForLead: a current key past its period is not replaced
// by a next key published for less than the lead.
func TestRotationWaitsForLead(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.EdDSA) // current key only
	clock.Advance(DefaultKeyRotationPeriod + time.Hour)                   // long overdue
	rotateKeys(t, k)                                                      // creates the next key now
	next := keyStatesOf(t, store, jose.EdDSA)[storage.KeyNext][0]
	for _, tc := range []struct {
		name     string
		at       time.Time
		promoted bool
	}{
		{"just published", next.CreatedAt, false},
		{"one second short of the lead", next.CreatedAt.Add(DefaultKeyLead - time.Second), false},
		{"published for the lead", next.CreatedAt.Add(DefaultKeyLead), true},
	} {
		clock.Set(tc.at)
		rotateKeys(t, k)
		_, kid := signWithKeys(t, k, jose.EdDSA)
		if (kid == next.ID) != tc.promoted {
			t.Fatalf("%s: signing with %s, next key %s, want promoted=%v", tc.name, kid, next.ID, tc.promoted)
		}
	}
}

// TestRotationReplicasAtOnce runs several key managers on one store
// through the same instants (bootstrap, due rotations) at once: each
// algorithm always ends with exactly one current and one next key, and
// after one more refresh all replicas serve the same JWKS. The PostgreSQL
// version is in cmd/monban.
func TestRotationReplicasAtOnce(t *testing.T) {
	const replicas = 6
	clock := newKeyClock()
	store := memory.New()
	kek := keysKEK(t, kekSecretA)
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA}
	ks := make([]*Keys, replicas)
	for i := range ks {
		ks[i] = New(store, kek, clock.Now)
	}
	all := func(fn func(k *Keys) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		for i, k := range ks {
			wg.Go(func() { errs[i] = fn(k) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("replica %d: %v", i, err)
			}
		}
	}
	all(func(k *Keys) error { return k.Ensure(t.Context(), algs...) })
	for round := range 4 {
		all(func(k *Keys) error { _, err := k.Rotate(t.Context()); return err })
		checkOneCurrentOneNext(t, store, algs...)
		// A replica that reloaded before another finished writing catches
		// up at its next refresh.
		all(func(k *Keys) error { return k.Load(t.Context()) })
		want, _ := ks[0].JWKS()
		for i, k := range ks {
			if got, _ := k.JWKS(); string(got) != string(want) {
				t.Fatalf("round %d: replica %d serves another JWKS", round, i)
			}
		}
		clock.Advance(DefaultKeyRotationPeriod)
	}
}

// TestEnsureRefusesWrongSecret: keys that the configured secrets cannot
// decrypt stop the start-up, and nothing is written (R10: never silently
// mint new keys). A second secret that decrypts them is enough.
func TestEnsureRefusesWrongSecret(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	ensuredKeys(t, store, keysKEK(t, kekSecretA), clock)
	before, _ := store.ListSigningKeys(t.Context())

	k := New(store, keysKEK(t, kekSecretB), clock.Now)
	err := k.Ensure(t.Context(), SupportedAlgorithms...)
	if err == nil || !strings.Contains(err.Error(), "cannot be decrypted with the configured secrets") {
		t.Fatalf("Ensure with the wrong secret = %v, want a decryption error", err)
	}
	if after, _ := store.ListSigningKeys(t.Context()); len(after) != len(before) {
		t.Fatalf("Ensure with the wrong secret changed the keys: %d before, %d after", len(before), len(after))
	}
	if _, err := k.Sign(jose.RS256, typIDToken, map[string]string{}); err == nil {
		t.Fatal("a key manager that failed to load signs tokens")
	}
	ensuredKeys(t, store, keysKEK(t, kekSecretB, kekSecretA), clock) // the old secret second
}

// TestRunStopsWithContext: Run does a rotation step at once and returns
// when its context ends.
func TestRunStopsWithContext(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.ES256)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	k.Run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	checkOneCurrentOneNext(t, store, jose.ES256)
}
