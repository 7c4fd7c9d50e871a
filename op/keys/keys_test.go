package keys

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestKeysSignAndVerifyEveryAlgorithm: each supported algorithm signs with
// its own key, and a token verifies only with the key its kid names and
// only under that key's algorithm (RFC 8725 §2.1, §3.1; checklist J3).
func TestKeysSignAndVerifyEveryAlgorithm(t *testing.T) {
	k := ensuredKeys(t, memory.New(), keysKEK(t, kekSecretA), newKeyClock())
	for _, alg := range SupportedAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			token, kid := signWithKeys(t, k, alg)
			jws, _ := jose.ParseSigned(token, SupportedAlgorithms)
			if h := jws.Signatures[0].Header; h.Algorithm != string(alg) || h.ExtraHeaders[jose.HeaderType] != typIDToken {
				t.Fatalf("header %+v, want alg %s and typ %s", h, alg, typIDToken)
			}
			if _, err := k.Verify(token, typIDToken); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if pub, ok := k.publicKey(kid); !ok || pub.Algorithm != string(alg) {
				t.Fatalf("kid %s is not a published %s key", kid, alg)
			}
		})
	}

	// Tokens an attacker could build from our own RSA keys with the other
	// RSA algorithm, or with a kid we do not have.
	rsKey, _ := k.signer(jose.RS256)
	psKey, _ := k.signer(jose.PS256)
	forge := func(alg jose.SignatureAlgorithm, key *signingKey, kid string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key.private, KeyID: kid}},
			(&jose.SignerOptions{}).WithType(typIDToken))
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := s.Sign([]byte(`{"iss":"https://id.test","sub":"mallory"}`))
		out, _ := jws.CompactSerialize()
		return out
	}
	for _, tc := range []struct{ name, token string }{
		{"PS256 header on the RS256 key", forge(jose.PS256, rsKey, rsKey.id)},
		{"RS256 header on the PS256 key", forge(jose.RS256, psKey, psKey.id)},
		{"unknown kid", forge(jose.RS256, rsKey, "not-a-kid")},
		{"no kid", forge(jose.RS256, rsKey, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := k.Verify(tc.token, typIDToken); err == nil {
				t.Fatal("verify accepted it")
			}
		})
	}
}

// TestJWKSContent covers checklist J6 for every key state: unique kids,
// use "sig" and alg on each key, no private or symmetric members, RSA keys
// of at least 2048 bits, and RS256 present.
func TestJWKSContent(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	k := ensuredKeys(t, store, keysKEK(t, kekSecretA), clock)
	rotateKeys(t, k) // next keys
	clock.Advance(DefaultKeyRotationPeriod)
	rotateKeys(t, k) // and retired ones
	body, _ := k.JWKS()

	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	stored, _ := store.ListSigningKeys(t.Context())
	if len(raw.Keys) != len(stored) || len(stored) != 3*len(SupportedAlgorithms) {
		t.Fatalf("JWKS has %d keys, store %d; want next, current and retired of %d algorithms", len(raw.Keys), len(stored), len(SupportedAlgorithms))
	}
	kids := map[string]bool{}
	var algs []string
	for _, key := range raw.Keys {
		kid, _ := key["kid"].(string)
		if kid == "" || kids[kid] {
			t.Errorf("missing or repeated kid in %v", key)
		}
		kids[kid] = true
		if key["use"] != "sig" || key["alg"] == nil {
			t.Errorf("key %s: use %v, alg %v; want sig and an algorithm", kid, key["use"], key["alg"])
		}
		algs = append(algs, key["alg"].(string))
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := key[private]; ok {
				t.Errorf("key %s publishes %q", kid, private)
			}
		}
	}
	if !slices.Contains(algs, "RS256") {
		t.Error("no RS256 key (OIDC Core §15.1)")
	}
	var set jose.JSONWebKeySet
	_ = json.Unmarshal(body, &set)
	for _, key := range set.Keys {
		if !key.IsPublic() {
			t.Errorf("key %s is not public", key.KeyID)
		}
		if alg := key.Algorithm; (alg == "RS256" || alg == "PS256") && key.Key.(interface{ Size() int }).Size()*8 < 2048 {
			t.Errorf("RSA key %s is shorter than 2048 bits", key.KeyID)
		}
	}
	if set.Keys[0].Algorithm != "RS256" || keyStatesOf(t, store, jose.RS256)[storage.KeyCurrent][0].ID != set.Keys[0].KeyID {
		t.Errorf("first key is %s %s, want the current RS256 key", set.Keys[0].Algorithm, set.Keys[0].KeyID)
	}
}

// TestLoadFollowsOtherReplicas: Load is cheap when nothing changed (same
// snapshot), ignores re-encryption, and picks up a rotation another
// replica made.
func TestLoadFollowsOtherReplicas(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	a := ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.ES256)
	b := ensuredKeys(t, store, keysKEK(t, kekSecretB, kekSecretA), clock, jose.ES256)
	snap := a.set.Load()
	if err := a.Load(t.Context()); err != nil || a.set.Load() != snap {
		t.Fatalf("Load without changes built a new snapshot (err %v)", err)
	}
	if _, err := b.Reencrypt(t.Context()); err != nil { // now only b's first secret opens them
		t.Fatal(err)
	}
	if err := a.Load(t.Context()); err != nil || a.set.Load() != snap {
		t.Fatalf("Load after re-encryption: %v, new snapshot %v", err, a.set.Load() != snap)
	}
	clock.Advance(DefaultKeyRotationPeriod)
	rotateKeys(t, b) // next key under secret B
	if err := a.Load(t.Context()); err == nil {
		t.Fatal("Load of a key this replica's secrets cannot open succeeded")
	}
	if a.set.Load() != snap {
		t.Fatal("a failed Load replaced the snapshot")
	}
	c := ensuredKeys(t, store, keysKEK(t, kekSecretB), clock, jose.ES256)
	clock.Advance(DefaultKeyLead)
	rotateKeys(t, c)
	rotateKeys(t, c) // promoted; a second step changes nothing
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	jb, _ := b.JWKS()
	jc, _ := c.JWKS()
	_, kb := signWithKeys(t, b, jose.ES256)
	_, kc := signWithKeys(t, c, jose.ES256)
	if string(jb) != string(jc) || kb != kc {
		t.Fatalf("replicas differ after a reload: signing with %s and %s", kb, kc)
	}
}

// TestReencrypt moves every key to the first secret, is idempotent, and
// changes nothing when a key cannot be decrypted.
func TestReencrypt(t *testing.T) {
	clock := newKeyClock()
	store := memory.New()
	ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.ES256, jose.EdDSA)
	ids := func() []string {
		keys, _ := store.ListSigningKeys(t.Context())
		var out []string
		for _, k := range keys {
			out = append(out, k.ID)
		}
		slices.Sort(out)
		return out
	}
	k := New(store, keysKEK(t, kekSecretB, kekSecretA), clock.Now)
	for _, tc := range []struct {
		name             string
		moved, unchanged []string
	}{
		{"moves every key", ids(), nil},
		{"second run changes nothing", nil, ids()},
	} {
		res, err := k.Reencrypt(t.Context())
		slices.Sort(res.Reencrypted)
		slices.Sort(res.Unchanged)
		if err != nil || !slices.Equal(res.Reencrypted, tc.moved) || !slices.Equal(res.Unchanged, tc.unchanged) {
			t.Fatalf("%s: Reencrypt = %+v, %v; want %v moved, %v unchanged", tc.name, res, err, tc.moved, tc.unchanged)
		}
	}
	ensuredKeys(t, store, keysKEK(t, kekSecretB), clock, jose.ES256, jose.EdDSA) // the old secret is no longer needed

	before, _ := store.ListSigningKeys(t.Context())
	if _, err := New(store, keysKEK(t, kekSecretA), clock.Now).Reencrypt(t.Context()); err == nil {
		t.Fatal("Reencrypt without the secret that opens the keys succeeded")
	}
	after, _ := store.ListSigningKeys(t.Context())
	for i := range before {
		if string(before[i].EncryptedKey) != string(after[i].EncryptedKey) {
			t.Fatalf("a failed Reencrypt rewrote key %s", before[i].ID)
		}
	}
}

// TestForceRotate covers `monban keys rotate`: it promotes a next key that
// was published for the lead at once, waits for one that was not unless
// told otherwise, and bootstraps an algorithm without keys.
func TestForceRotate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		published   time.Duration // age of the next key; -1: no keys at all
		immediately bool
		rotated     bool
	}{
		{"next key published long enough", 2 * DefaultKeyLead, false, true},
		{"next key too young", DefaultKeyLead - time.Second, false, false},
		{"next key too young, immediately", time.Minute, true, true},
		{"no keys at all", -1, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newKeyClock()
			store := memory.New()
			k := New(store, keysKEK(t, kekSecretA), clock.Now)
			var cur, next string
			if tc.published >= 0 {
				k = ensuredKeys(t, store, keysKEK(t, kekSecretA), clock, jose.ES256)
				rotateKeys(t, k)
				st := keyStatesOf(t, store, jose.ES256)
				cur, next = st[storage.KeyCurrent][0].ID, st[storage.KeyNext][0].ID
				clock.Advance(tc.published)
			}
			res, err := k.ForceRotate(t.Context(), tc.immediately, jose.ES256)
			if err != nil || len(res) != 1 {
				t.Fatalf("ForceRotate = %+v, %v", res, err)
			}
			r := res[0]
			if r.Rotated != tc.rotated {
				t.Fatalf("Rotated = %v, want %v (%+v)", r.Rotated, tc.rotated, r)
			}
			st := keyStatesOf(t, store, jose.ES256)
			_, signing := signWithKeys(t, k, jose.ES256)
			switch {
			case tc.published < 0:
				if r.Current != signing || r.Next == "" || r.Retired != "" {
					t.Fatalf("bootstrap: %+v, signing with %s", r, signing)
				}
			case tc.rotated:
				if r.Retired != cur || r.Current != next || signing != next || r.PublishedFor != tc.published || r.Next == next {
					t.Fatalf("rotation: %+v, signing with %s; want %s retired, %s current", r, signing, cur, next)
				}
				if len(st[storage.KeyRetired]) != 1 || st[storage.KeyRetired][0].ID != cur {
					t.Fatalf("retired keys %+v, want %s", st[storage.KeyRetired], cur)
				}
			default:
				if r.Current != cur || signing != cur || r.Next != next || !r.RetryAt.Equal(st[storage.KeyNext][0].CreatedAt.Add(DefaultKeyLead)) {
					t.Fatalf("refusal: %+v, signing with %s", r, signing)
				}
			}
			checkOneCurrentOneNext(t, store, jose.ES256)
		})
	}
}

func TestSetPolicy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy RotationPolicy
		err    string
	}{
		{"defaults", RotationPolicy{}, ""},
		{"a day", RotationPolicy{Period: 24 * time.Hour}, ""},
		{"lead within a cache lifetime", RotationPolicy{Lead: JWKSMaxAge}, "must be at least the JWKS max-age"},
		{"period shorter than the lead", RotationPolicy{Period: 30 * time.Minute}, "must be at least the pre-publication lead"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := New(memory.New(), keysKEK(t, kekSecretA), nil).SetPolicy(tc.policy)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("SetPolicy = %v, want %q", err, tc.err)
			}
		})
	}
}
