package keys

import (
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage/memory"
)

// BenchmarkSign signs a typical access token's claims (issue 21: what the
// JWS building costs besides the signature itself).
func BenchmarkSign(b *testing.B) {
	claims := map[string]any{"iss": "https://id.example.com", "sub": "0190f3b2-7c1e-7d2a-9c4e-3f1a2b3c4d5e",
		"aud": []string{"app"}, "exp": 1893456000, "iat": 1893452400, "jti": "b7f3c1d2e4a5968778695a4b3c2d1e0f",
		"client_id": "app", "scope": "openid profile email", "sid": "0190f3b2-7c1e-7d2a-9c4e-000000000001"}
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256} {
		b.Run(string(alg), func(b *testing.B) {
			k := New(memory.New(), RandomKeyEncryptionKeys(), newKeyClock().Now)
			if err := k.Ensure(b.Context(), alg); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Sign(alg, "at+jwt", claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignMatchesGoJose: Sign's own JWS building gives the protected
// header go-jose writes for the same key and typ, and go-jose verifies
// the signature with the published key, for every algorithm.
func TestSignMatchesGoJose(t *testing.T) {
	k := ensuredKeys(t, memory.New(), keysKEK(t, kekSecretA), newKeyClock())
	for _, alg := range SupportedAlgorithms {
		t.Run(string(alg), func(t *testing.T) {
			key, err := k.signer(alg)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := k.Sign(alg, "at+jwt", map[string]string{"sub": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key.private, KeyID: key.id,
				Algorithm: string(alg), Use: "sig"}}, (&jose.SignerOptions{}).WithType("at+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			jws, err := s.Sign([]byte(`{"sub":"alice"}`))
			if err != nil {
				t.Fatal(err)
			}
			theirs, _ := jws.CompactSerialize()
			if got, want := strings.SplitN(ours, ".", 2)[0], strings.SplitN(theirs, ".", 2)[0]; got != want {
				t.Errorf("header %s, go-jose writes %s", got, want)
			}
			parsed, err := jose.ParseSigned(ours, []jose.SignatureAlgorithm{alg})
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := k.publicKey(key.id)
			payload, err := parsed.Verify(pub.Key)
			if err != nil || string(payload) != `{"sub":"alice"}` {
				t.Fatalf("go-jose verification: %q, %v", payload, err)
			}
		})
	}
}

func TestFixedRS(t *testing.T) {
	for _, tc := range []struct {
		name string
		der  []byte
		want []byte // nil: an error
	}{
		{"sign-byte-dropped", []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x05}, []byte{0, 0x80, 0, 5}},
		{"short-values-padded", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02}, []byte{0, 1, 0, 2}},
		{"too-long", []byte{0x30, 0x07, 0x02, 0x03, 0x01, 0x02, 0x03, 0x02, 0x00}, nil},
		{"trailing-bytes", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0x00}, nil},
		{"not-a-sequence", []byte{0x02, 0x01, 0x01}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fixedRS(tc.der, 2)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("fixedRS = %x, want an error", got)
				}
				return
			}
			if err != nil || string(got) != string(tc.want) {
				t.Fatalf("fixedRS = %x, %v; want %x", got, err, tc.want)
			}
		})
	}
}
