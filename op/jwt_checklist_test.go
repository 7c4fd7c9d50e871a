package op

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

const checklistIssuer = "https://id.test"

// jwtFixture is a provider's keys with one RS256 key, enough to verify
// tokens without HTTP. The fixture made the private key itself, so it can
// forge headers with it.
type jwtFixture struct {
	p   *Provider
	kid string
	key *rsa.PrivateKey
}

// fixtureSecret is the key-encryption secret of the fixture's keys.
const fixtureSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func newJWTFixture(t testing.TB) *jwtFixture {
	t.Helper()
	now := func() time.Time { return time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC) }
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const kid = "fixture-rs256"
	store := memory.New()
	if err := store.CreateSigningKey(t.Context(), &storage.SigningKey{ID: kid, Algorithm: string(jose.RS256),
		State: storage.KeyCurrent, EncryptedKey: sealKey(t, kid, priv), CreatedAt: now(), ActivatedAt: now()}); err != nil {
		t.Fatal(err)
	}
	kek, err := keys.ParseKeyEncryptionKeys([]string{fixtureSecret})
	if err != nil {
		t.Fatal(err)
	}
	k := keys.New(store, kek, now)
	if err := k.Ensure(t.Context(), jose.RS256); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return &jwtFixture{p: &Provider{keys: k, issuer: checklistIssuer, now: now}, kid: kid, key: priv}
}

// sealKey encrypts priv as keys.KeyEncryptionKeys stores a signing key
// (PKCS #8 under AES-256-GCM, nonce first, the key ID as additional data).
func sealKey(t testing.TB, kid string, priv *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(fixtureSecret)
	block, _ := aes.NewCipher(raw)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, der, []byte(kid))
}

// idToken returns a genuine ID token for alice.
func (f *jwtFixture) idToken(t testing.TB) string {
	t.Helper()
	tok, err := f.p.keys.Sign(jose.RS256, typIDToken, map[string]any{"iss": checklistIssuer, "sub": "alice", "aud": "web1"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// forge signs claims with our own private key but the header fields
// given (so only the header makes the token invalid).
func (f *jwtFixture) forge(t testing.TB, header map[string]any, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{}}
	for k, v := range header {
		opts.ExtraHeaders[jose.HeaderKey(k)] = v
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(v any) string {
	var raw []byte
	switch x := v.(type) {
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	default:
		raw, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// hs256 signs header.payload with HMAC-SHA256 under secret.
func hs256(header, claims any, secret []byte) string {
	in := b64(header) + "." + b64(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestChecklistJWTVerification covers checklist J1, J2, J3, J5 and B9 on
// the one verifier every incoming JWT goes through (id_token_hint, bearer
// access tokens): every forged or malformed input is refused.
func TestChecklistJWTVerification(t *testing.T) {
	f := newJWTFixture(t)
	valid := f.idToken(t)
	claims := map[string]any{"iss": checklistIssuer, "sub": "alice", "aud": "web1"}
	parts := strings.Split(valid, ".")
	pub := jose.JSONWebKey{Key: f.key.Public(), KeyID: f.kid, Algorithm: string(jose.RS256), Use: "sig"}
	pkix, _ := x509.MarshalPKIXPublicKey(pub.Key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	jwkJSON, _ := pub.MarshalJSON()

	var fetched atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer attacker.Close()

	none := func(alg string) string {
		return b64(map[string]any{"alg": alg, "typ": "JWT", "kid": f.kid}) + "." + b64(claims) + "."
	}
	for _, tc := range []struct{ name, token string }{
		{"J1/alg-none", none("none")},
		{"J1/alg-None", none("None")},
		{"J1/alg-nOnE", none("nOnE")},
		{"J1/alg-missing", b64(map[string]any{"typ": "JWT", "kid": f.kid}) + "." + b64(claims) + "." + parts[2]},
		{"J2/hs256-with-pem-public-key", hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": f.kid}, claims, pemKey)},
		{"J2/hs256-with-jwk-public-key", hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": f.kid}, claims, jwkJSON)},
		{"J2/hs256-with-der-public-key", hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": f.kid}, claims, pkix)},
		{"J3/unknown-kid", f.forge(t, map[string]any{"kid": "unknown", "typ": "JWT"}, claims)},
		{"J3/kid-path-traversal", f.forge(t, map[string]any{"kid": "../../etc/passwd", "typ": "JWT"}, claims)},
		{"J3/kid-sql-injection", f.forge(t, map[string]any{"kid": "' OR 1=1--", "typ": "JWT"}, claims)},
		{"J3/jku-header", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT", "jku": attacker.URL}, claims)},
		{"J3/x5u-header", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT", "x5u": attacker.URL}, claims)},
		{"J3/jwk-header", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT", "jwk": json.RawMessage(jwkJSON)}, claims)},
		{"J3/x5c-header", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT", "x5c": []string{"MIIB"}}, claims)},
		{"J3/crit-header", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT", "crit": []string{"x"}, "x": 1}, claims)},
		{"J5/access-token-typ-as-id-token", f.forge(t, map[string]any{"kid": f.kid, "typ": "at+jwt"}, claims)},
		{"B9/two-parts", parts[0] + "." + parts[1]},
		{"B9/four-parts", valid + ".x"},
		{"B9/1MiB-of-dots", strings.Repeat(".", 1<<20)},
		{"B9/over-8KiB", f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT"}, map[string]any{"iss": checklistIssuer, "sub": "alice", "pad": strings.Repeat("p", 8<<10)})},
		{"B9/not-base64url", "!!!." + parts[1] + "." + parts[2]},
		{"B9/header-not-json", b64("not json") + "." + parts[1] + "." + parts[2]},
		{"B9/header-json-array", b64("[1,2]") + "." + parts[1] + "." + parts[2]},
		{"B9/signature-stripped", parts[0] + "." + parts[1] + "."},
		{"B9/signature-of-another-payload", parts[0] + "." + b64(map[string]any{"iss": checklistIssuer, "sub": "mallory"}) + "." + parts[2]},
		{"B9/nested-jwt-in-unsigned-wrapper", b64(map[string]any{"alg": "none", "cty": "JWT"}) + "." + b64(valid) + "."},
		{"B9/nested-jwt-in-hmac-wrapper", hs256(map[string]any{"alg": "HS256", "cty": "JWT", "kid": f.kid}, valid, pemKey)},
		{"B9/jwe-with-zip", b64(map[string]any{"alg": "RSA-OAEP", "enc": "A256GCM", "zip": "DEF", "kid": f.kid}) + ".a.b.c.d"},
		{"B9/empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.p.keys.Verify(tc.token, typIDToken); err == nil {
				t.Fatal("verify accepted the token")
			}
			if _, err := f.p.parseIDTokenHint(tc.token); err == nil {
				t.Fatal("parseIDTokenHint accepted the token")
			}
		})
	}
	t.Run("J3/no-outbound-fetch", func(t *testing.T) {
		if n := fetched.Load(); n != 0 {
			t.Fatalf("the verifier fetched %d URLs named in token headers", n)
		}
	})
	t.Run("J3/genuine-token-accepted", func(t *testing.T) {
		// The control case: the cases above fail for what they change.
		h, err := f.p.parseIDTokenHint(valid)
		if err != nil || h.Subject != "alice" {
			t.Fatalf("parseIDTokenHint(valid) = %+v, %v", h, err)
		}
		if _, err := f.p.keys.Verify(f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT"}, claims), typIDToken); err != nil {
			t.Fatalf("forge without a bad header was refused: %v", err)
		}
	})
	t.Run("J5/id-token-as-access-token", func(t *testing.T) {
		if _, err := f.p.keys.Verify(valid, typAccessToken); err == nil {
			t.Fatal("an ID token was accepted where an access token (typ at+jwt) is required")
		}
	})
	t.Run("L1/hint-from-another-issuer", func(t *testing.T) {
		other := f.forge(t, map[string]any{"kid": f.kid, "typ": "JWT"}, map[string]any{"iss": "https://evil.test", "sub": "alice", "aud": "web1"})
		if _, err := f.p.parseIDTokenHint(other); err == nil {
			t.Fatal("a hint with another iss was accepted")
		}
	})
}
