package pending

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/storagetest"
)

func newCodeSealer(t testing.TB, k []byte, clock *storagetest.Clock) *CodeSealer {
	t.Helper()
	return mustMake(t, NewCodeSealer, k, clock)
}

// answered is typical() answered from a live session at t0.
func answered() *storage.AuthRequest {
	r := typical()
	r.UserID, r.SessionID, r.AuthTime, r.AMR = "user-1", "session-1", t0.Add(-time.Hour), []string{"pwd", "otp"}
	r.CodeExpiresAt = t0.Add(time.Minute)
	return r
}

// kept is what Open returns for r: the fields the exchange needs, times
// to the microsecond.
func kept(r *storage.AuthRequest) *storage.AuthRequest {
	us := func(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
	return &storage.AuthRequest{
		ID: r.ID, ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, Nonce: r.Nonce,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		ACR: r.ACR, Claims: r.Claims, DPoPJKT: r.DPoPJKT, CreatedAt: us(r.CreatedAt), ExpiresAt: us(r.ExpiresAt),
		UserID: r.UserID, SessionID: r.SessionID, AuthTime: us(r.AuthTime), AMR: r.AMR, CodeExpiresAt: us(r.CodeExpiresAt),
	}
}

func TestCodeRoundTrip(t *testing.T) {
	everything := answered()
	everything.ACR, everything.DPoPJKT = "urn:monban:acr:mfa", testJKT
	everything.Claims = storage.RequestedClaims{IDToken: []string{"email"}, UserInfo: storage.RequestableClaims}
	noPKCE := answered()
	noPKCE.CodeChallenge, noPKCE.CodeChallengeMethod, noPKCE.Nonce, noPKCE.AMR = "", "", "", nil
	for _, tc := range []struct {
		name string
		req  *storage.AuthRequest
	}{
		{"typical", answered()},
		{"acr, claims and dpop_jkt", everything},
		{"no PKCE, nonce or amr", noPKCE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCodeSealer(t, key(1), storagetest.NewClock(t0))
			code, err := s.Seal(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !IsSealedCode(code) || IsSealed(code) || strings.ContainsAny(code[len(CodePrefix):], "+/=.") || len(code) > MaxCodeLen {
				t.Fatalf("code %q is not c1. + unpadded base64url of at most %d bytes", code, MaxCodeLen)
			}
			got, err := s.Open(code)
			if err != nil {
				t.Fatal(err)
			}
			if want := kept(tc.req); !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if again, _ := s.Seal(tc.req); again == code {
				t.Fatal("two seals of one request are equal: the nonce is not random")
			}
			t.Logf("%s: %d bytes", tc.name, len(code))
		})
	}
}

// TestCodeSealRefuses: a request the exchange could not use, or one whose
// code would be too long, is not sealed; the caller stores it instead.
func TestCodeSealRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *storage.AuthRequest)
		want   error
	}{
		{"no user", func(r *storage.AuthRequest) { r.UserID = "" }, ErrUnsealable},
		{"no session", func(r *storage.AuthRequest) { r.SessionID = "" }, ErrUnsealable},
		{"no code expiry", func(r *storage.AuthRequest) { r.CodeExpiresAt = time.Time{} }, ErrUnsealable},
		{"unknown claim", func(r *storage.AuthRequest) { r.Claims.UserInfo = []string{"ssn"} }, ErrUnsealable},
		{"malformed dpop_jkt", func(r *storage.AuthRequest) { r.DPoPJKT = "short" }, ErrUnsealable},
		{"long redirect URI", func(r *storage.AuthRequest) {
			r.RedirectURI = "https://app.example/" + strings.Repeat("r", 700)
		}, ErrTooLarge},
		{"long nonce and client ID", func(r *storage.AuthRequest) {
			r.Nonce, r.ClientID = strings.Repeat("n", 512), strings.Repeat("c", 200)
		}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := answered()
			tc.change(r)
			code, err := newCodeSealer(t, key(1), storagetest.NewClock(t0)).Seal(r)
			if !errors.Is(err, tc.want) || code != "" {
				t.Fatalf("Seal = %q, %v; want %v", code, err, tc.want)
			}
		})
	}
	// The largest request that fits: the bound is exact.
	r := answered()
	s := newCodeSealer(t, key(1), storagetest.NewClock(t0))
	for {
		r.RedirectURI += "r"
		code, err := s.Seal(r)
		if errors.Is(err, ErrTooLarge) {
			break
		}
		if err != nil || len(code) > MaxCodeLen {
			t.Fatalf("Seal with a %d-byte redirect URI = %d bytes, %v", len(r.RedirectURI), len(code), err)
		}
	}
}

func TestCodeOpenRefuses(t *testing.T) {
	clock := storagetest.NewClock(t0)
	s := newCodeSealer(t, key(1), clock)
	code, err := s.Seal(answered())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string { return flipped(code, i) }
	// A pending request sealed with the code key, and one sealed with
	// its own key: neither is a code.
	samePending, err := New(key(1), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	pendingValue, err := samePending.Seal(typical())
	if err != nil {
		t.Fatal(err)
	}
	other := newCodeSealer(t, key(2), clock)
	checkRefusals(t, s.Open, []refusal{
		{"tampered nonce", func() string { return flip(len(CodePrefix) + 1) }, ErrForged},
		{"tampered body", func() string { return flip(len(code) / 2) }, ErrForged},
		{"tampered tag", func() string { return flip(len(code) - 2) }, ErrForged},
		{"truncated", func() string { return code[:len(code)-4] }, ErrForged},
		{"another key", func() string { v, _ := other.Seal(answered()); return v }, ErrForged},
		{"a pending request as p1.", func() string { return pendingValue }, ErrMalformed},
		{"a pending request as c1.", func() string { return CodePrefix + pendingValue[len(Prefix):] }, ErrForged},
		{"other version", func() string { return "c2." + code[len(CodePrefix):] }, ErrMalformed},
		{"stored code", func() string { return storage.NewToken() }, ErrMalformed},
		{"empty", func() string { return "" }, ErrMalformed},
		{"prefix only", func() string { return CodePrefix }, ErrMalformed},
		{"not base64", func() string { return CodePrefix + "!!!!" + code[len(CodePrefix)+4:] }, ErrMalformed},
		{"oversize", func() string { return CodePrefix + strings.Repeat("A", MaxCodeLen) }, ErrMalformed},
	})
	// And a code is no pending request.
	if got, err := samePending.Open(code); got != nil || err == nil {
		t.Fatalf("Sealer.Open(code) = %v, %v; want an error", got, err)
	}
}

// TestCodeExpiry: a code opens until its own expiry (CodeExpiresAt, the
// code TTL), not the request's.
func TestCodeExpiry(t *testing.T) {
	clock := storagetest.NewClock(t0)
	s := newCodeSealer(t, key(1), clock)
	req := answered()
	code, err := s.Seal(req)
	if err != nil {
		t.Fatal(err)
	}
	exp := req.CodeExpiresAt.Truncate(time.Microsecond)
	checkExpiry(t, clock, s.Open, code, []moment{
		{"fresh", t0, nil},
		{"a microsecond before expiry", exp.Add(-time.Microsecond), nil},
		{"at expiry", exp, ErrExpired},
		{"before the request's expiry, after the code's", req.ExpiresAt.Add(-time.Second), ErrExpired},
	})
}

// TestCodeHash: a sealed code has one text (one with a line break, or
// with other unused low bits in its last character, does not open: Go's
// base64 decoder would otherwise accept both), and its tombstone key is
// its request's.
func TestCodeHash(t *testing.T) {
	s := newCodeSealer(t, key(1), storagetest.NewClock(t0))
	req := answered()
	code, err := s.Seal(req)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Open(code)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if CodeHash(a) != CodeHash(req) {
		t.Fatal("the opened code's tombstone key is not its request's")
	}
	for name, variant := range map[string]string{
		"line break":    code[:10] + "\n" + code[10:],
		"CR LF":         code[:10] + "\r\n" + code[10:],
		"last char bit": code[:len(code)-1] + string(code[len(code)-1]^1),
	} {
		if _, err := s.Open(variant); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrForged) {
			t.Errorf("Open(%s variant): %v, want it refused", name, err)
		}
	}
	other := answered()
	other.ID = storage.NewID()
	if CodeHash(other) == CodeHash(req) {
		t.Fatal("two requests share a tombstone key")
	}
}

// FuzzCodeOpen: Open never panics and never opens what it did not seal.
func FuzzCodeOpen(f *testing.F) {
	s := newCodeSealer(f, key(1), storagetest.NewClock(t0))
	code, err := s.Seal(answered())
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{code, "", CodePrefix, CodePrefix + "AAAA", code[:len(code)-1], Prefix + code[len(CodePrefix):]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, err := s.Open(v)
		if err == nil && (r == nil || r.UserID == "") {
			t.Fatalf("Open(%q) = %v without an error", v, r)
		}
	})
}

// BenchmarkCodeSealOpen is the sealed code's cost on the SSO fast path:
// one Seal at /authorize and one Open at /token.
func BenchmarkCodeSealOpen(b *testing.B) {
	s := newCodeSealer(b, key(1), storagetest.NewClock(t0))
	r := answered()
	b.ReportAllocs()
	for b.Loop() {
		code, err := s.Seal(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(code); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecode: the decoders never panic on any plaintext (only authentic
// plaintexts reach them, but a bug in encode must not crash the server),
// and what decodeCode accepts survives another round trip unchanged.
func FuzzDecode(f *testing.F) {
	for _, r := range []*storage.AuthRequest{typical(), answered()} {
		if b, err := encode(r); err == nil {
			f.Add(b)
		}
		if b, err := encodeCode(r); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := decodeCode(b); err == nil {
			if again, err := encodeCode(r); err == nil {
				if r2, err := decodeCode(again); err != nil || !reflect.DeepEqual(r, r2) {
					t.Fatalf("decodeCode(%x) = %+v; after another round trip %+v, %v", b, r, r2, err)
				}
			}
		}
		_, _ = decode(string(b))
	})
}
