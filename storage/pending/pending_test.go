package pending

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/storagetest"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)

func key(b byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

func newSealer(t *testing.T, k []byte, clock *storagetest.Clock) *Sealer {
	t.Helper()
	return mustMake(t, New, k, clock)
}

// typical is what a relying party like Auth.js sends.
func typical() *storage.AuthRequest {
	ma := 10 * time.Minute
	return &storage.AuthRequest{
		ID: storage.NewID(), ClientID: "app-a", RedirectURI: "https://app-a.example/api/auth/callback/monban",
		Scopes: []string{"openid", "profile", "email"}, State: strings.Repeat("s", 43), Nonce: strings.Repeat("n", 43),
		ResponseMode: "query", CodeChallenge: strings.Repeat("c", 43), CodeChallengeMethod: "S256",
		Prompt: []string{"login", "consent"}, UILocales: []string{"ja-JP", "en"}, MaxAge: &ma, LoginHint: "alice@example.com", HintSubject: "user-1",
		CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute),
	}
}

func TestSealRoundTrip(t *testing.T) {
	zero := time.Duration(0)
	minimal := &storage.AuthRequest{ID: "r1", ClientID: "c", RedirectURI: "https://c.example/cb",
		CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	maxAgeZero := typical()
	maxAgeZero.MaxAge = &zero
	unicode := typical()
	unicode.State = "a+b c&d=🔑"
	withACR := typical()
	withACR.ACR = "urn:monban:acr:mfa"
	claimsOnly := typical()
	claimsOnly.Claims = storage.RequestedClaims{UserInfo: []string{"email", "groups"}}
	everyClaim := typical()
	everyClaim.ACR = "urn:monban:acr:mfa"
	everyClaim.Claims = storage.RequestedClaims{IDToken: storage.RequestableClaims, UserInfo: storage.RequestableClaims}
	jktOnly := typical()
	jktOnly.DPoPJKT = testJKT
	everything := typical()
	everything.ACR, everything.Claims, everything.DPoPJKT = everyClaim.ACR, everyClaim.Claims, testJKT
	for _, tc := range []struct {
		name string
		req  *storage.AuthRequest
	}{
		{"typical", typical()},
		{"minimal", minimal},
		{"max_age=0", maxAgeZero},
		{"unicode state", unicode},
		{"acr", withACR},
		{"claims without acr", claimsOnly},
		{"every claim and acr", everyClaim},
		{"dpop_jkt without acr or claims", jktOnly},
		{"dpop_jkt, every claim and acr", everything},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := storagetest.NewClock(t0)
			s := newSealer(t, key(1), clock)
			sealed, err := s.Seal(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !IsSealed(sealed) || strings.ContainsAny(sealed[len(Prefix):], "+/=.") {
				t.Fatalf("sealed value %q is not p1. + unpadded base64url", sealed)
			}
			got, err := s.Open(sealed)
			if err != nil {
				t.Fatal(err)
			}
			want := *tc.req
			want.CreatedAt, want.ExpiresAt = want.CreatedAt.Truncate(time.Microsecond), want.ExpiresAt.Truncate(time.Microsecond)
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, &want)
			}
			again, _ := s.Seal(tc.req)
			if again == sealed {
				t.Fatal("two seals of one request are equal: the nonce is not random")
			}
		})
	}
}

// TestSealRefusesUnknownClaim: a requested claim outside
// storage.RequestableClaims has no bit; Seal refuses it rather than drop it.
func TestSealRefusesUnknownClaim(t *testing.T) {
	r := typical()
	r.Claims.IDToken = []string{"email", "ssn"}
	if _, err := newSealer(t, key(1), storagetest.NewClock(t0)).Seal(r); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("Seal = %v, want ErrUnsealable", err)
	}
}

// testJKT is a SHA-256 JWK thumbprint (RFC 7638 §3.1's example key's).
const testJKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

// TestSealRefusesMalformedJKT: a DPoPJKT that is not 32 bytes of
// base64url cannot be sealed in its compact form; Seal refuses it (op
// checks dpop_jkt before).
func TestSealRefusesMalformedJKT(t *testing.T) {
	for _, jkt := range []string{"short", testJKT + "A", strings.Replace(testJKT, "N", "+", 1), testJKT[:42] + "="} {
		r := typical()
		r.DPoPJKT = jkt
		if _, err := newSealer(t, key(1), storagetest.NewClock(t0)).Seal(r); !errors.Is(err, ErrUnsealable) {
			t.Errorf("Seal with dpop_jkt %q = %v, want ErrUnsealable", jkt, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	clock := storagetest.NewClock(t0)
	s := newSealer(t, key(1), clock)
	sealed, err := s.Seal(typical())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string { return flipped(sealed, i) }
	other := newSealer(t, key(2), clock)
	checkRefusals(t, s.Open, []refusal{
		{"tampered nonce", func() string { return flip(len(Prefix) + 1) }, ErrForged},
		{"tampered body", func() string { return flip(len(sealed) / 2) }, ErrForged},
		{"tampered tag", func() string { return flip(len(sealed) - 2) }, ErrForged},
		{"truncated", func() string { // by three bytes, re-encoded: well-formed base64url
			raw, _ := base64.RawURLEncoding.DecodeString(sealed[len(Prefix):])
			return Prefix + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-3])
		}, ErrForged},
		{"line break", func() string { return sealed[:10] + "\n" + sealed[10:] }, ErrMalformed},
		{"other version", func() string { return "p2." + sealed[len(Prefix):] }, ErrMalformed},
		{"stored id", func() string { return storage.NewID() }, ErrMalformed},
		{"empty", func() string { return "" }, ErrMalformed},
		{"prefix only", func() string { return Prefix }, ErrMalformed},
		{"not base64", func() string { return Prefix + "!!!!" + sealed[len(Prefix)+4:] }, ErrMalformed},
		{"padded", func() string { return sealed + "==" }, ErrMalformed},
		{"oversize", func() string { return Prefix + strings.Repeat("A", MaxSealedLen) }, ErrMalformed},
		{"foreign key", func() string { v, _ := other.Seal(typical()); return v }, ErrForged},
	})
}

func TestOpenExpiry(t *testing.T) {
	clock := storagetest.NewClock(t0)
	s := newSealer(t, key(1), clock)
	req := typical()
	sealed, err := s.Seal(req)
	if err != nil {
		t.Fatal(err)
	}
	checkExpiry(t, clock, s.Open, sealed, []moment{
		{"fresh", t0, nil},
		{"a microsecond before expiry", req.ExpiresAt.Truncate(time.Microsecond).Add(-time.Microsecond), nil},
		{"at expiry", req.ExpiresAt.Truncate(time.Microsecond), ErrExpired},
		{"after expiry", req.ExpiresAt.Add(time.Hour), ErrExpired},
	})
}

func TestSealSize(t *testing.T) {
	s := newSealer(t, key(1), storagetest.NewClock(t0))
	// At the authorization endpoint's caps (op/authparams.go).
	maximal := typical()
	maximal.ClientID = strings.Repeat("é", 100)
	maximal.RedirectURI = "https://app.example/" + strings.Repeat("r", 2048-len("https://app.example/"))
	maximal.State, maximal.Nonce, maximal.LoginHint = strings.Repeat("s", 2048), strings.Repeat("n", 512), strings.Repeat("h", 256)
	maximal.Scopes = []string{"openid", "profile", "email", "address", "phone", "offline_access", "groups"}
	maximal.Prompt = []string{"login", "consent", "select_account"}
	maximal.ACR, maximal.DPoPJKT = "urn:monban:acr:phr", testJKT
	maximal.Claims = storage.RequestedClaims{IDToken: storage.RequestableClaims, UserInfo: storage.RequestableClaims}
	for _, tc := range []struct {
		name    string
		req     *storage.AuthRequest
		wantErr error
	}{
		{"typical", typical(), nil},
		{"maximal at the caps", maximal, nil},
		{"state past the caps", func() *storage.AuthRequest {
			r := typical()
			r.State = strings.Repeat("s", MaxPlaintext)
			return r
		}(), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := s.Seal(tc.req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || sealed != "" {
					t.Fatalf("Seal = %q, %v; want %v", sealed, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) > MaxSealedLen {
				t.Fatalf("sealed length %d > MaxSealedLen %d", len(sealed), MaxSealedLen)
			}
			t.Logf("%s: sealed value %d bytes", tc.name, len(sealed))
		})
	}
}

func TestNewKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n), nil); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestMaxSealedLen(t *testing.T) {
	if MaxSealedLen != 7636 {
		t.Fatalf("MaxSealedLen = %d; update its doc comment and BENCHMARKS.md", MaxSealedLen)
	}
	if line := len("GET /login?id= HTTP/1.1") + MaxSealedLen; line > 8<<10 {
		t.Fatalf("the longest sign-in request line is %d bytes, want at most 8 KiB", line)
	}
}
