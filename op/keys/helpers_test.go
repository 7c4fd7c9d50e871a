package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/storagetest"
)

// keyClock is the shared settable test clock.
type keyClock = storagetest.Clock

func newKeyClock() *keyClock {
	return storagetest.NewClock(time.Date(2030, time.January, 1, 9, 0, 0, 0, time.UTC))
}

// testKEK returns key-encryption keys from fixed secrets (base64 of 32
// bytes each), first one encrypting.
func keysKEK(t *testing.T, secrets ...string) *KeyEncryptionKeys {
	t.Helper()
	kek, err := ParseKeyEncryptionKeys(secrets)
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// Two fixed secrets for the key tests.
const (
	kekSecretA = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // "0123456789abcdef0123456789abcdef"
	kekSecretB = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=" // "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
)

// ensured returns Keys on store with every supported algorithm ensured.
func ensuredKeys(t *testing.T, store storage.SigningKeys, kek *KeyEncryptionKeys, clock *keyClock, algs ...jose.SignatureAlgorithm) *Keys {
	t.Helper()
	k := New(store, kek, clock.Now)
	if len(algs) == 0 {
		algs = SupportedAlgorithms
	}
	if err := k.Ensure(t.Context(), algs...); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return k
}

// rotate runs one rotation step and fails the test on error.
func rotateKeys(t *testing.T, k *Keys) []KeyEvent {
	t.Helper()
	events, err := k.Rotate(t.Context())
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	return events
}

// signTest signs a token with the current key of alg and returns it with
// its kid.
func signWithKeys(t *testing.T, k *Keys, alg jose.SignatureAlgorithm) (token, kid string) {
	t.Helper()
	token, err := k.Sign(alg, typIDToken, map[string]any{"iss": "https://id.test", "sub": "alice"})
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	jws, err := jose.ParseSigned(token, SupportedAlgorithms)
	if err != nil {
		t.Fatal(err)
	}
	return token, jws.Signatures[0].Header.KeyID
}

// verifyWithJWKS verifies token against a serialized JWKS the way a relying
// party does, independently of Keys: key by kid, its alg must match.
func verifyWithJWKS(jwks []byte, token string) error {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		return fmt.Errorf("JWKS: %w", err)
	}
	jws, err := jose.ParseSigned(token, SupportedAlgorithms)
	if err != nil {
		return err
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		return fmt.Errorf("kid %s: %d keys in the JWKS", h.KeyID, len(keys))
	}
	if keys[0].Algorithm != h.Algorithm {
		return errors.New("alg does not match the key's")
	}
	_, err = jws.Verify(keys[0])
	return err
}

// jwksKIDs returns the kids in a serialized JWKS.
func jwksKIDs(t *testing.T, jwks []byte) map[string]bool {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatal(err)
	}
	kids := map[string]bool{}
	for _, k := range set.Keys {
		kids[k.KeyID] = true
	}
	return kids
}

// statesOf returns the stored keys of alg by state (retired keys may be
// several).
func keyStatesOf(t *testing.T, store storage.SigningKeys, alg jose.SignatureAlgorithm) map[string][]*storage.SigningKey {
	t.Helper()
	keys, err := store.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*storage.SigningKey{}
	for _, k := range keys {
		if k.Algorithm == string(alg) {
			out[k.State] = append(out[k.State], k)
		}
	}
	return out
}

// checkOneCurrentOneNext fails unless each alg has exactly one current and
// one next key.
func checkOneCurrentOneNext(t *testing.T, store storage.SigningKeys, algs ...jose.SignatureAlgorithm) {
	t.Helper()
	for _, alg := range algs {
		st := keyStatesOf(t, store, alg)
		if len(st[storage.KeyCurrent]) != 1 || len(st[storage.KeyNext]) != 1 {
			t.Fatalf("%s has %d current and %d next keys, want 1 and 1", alg, len(st[storage.KeyCurrent]), len(st[storage.KeyNext]))
		}
	}
}

// JWS typ values the tests sign and verify with (op's ID and access tokens).
const (
	typIDToken     = "JWT"
	typAccessToken = "at+jwt"
)
