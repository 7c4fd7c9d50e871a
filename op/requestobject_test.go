package op

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// joseSigner signs test request objects with one key.
type joseSigner struct {
	key *ecdsa.PrivateKey
	kid string
}

func newJoseSigner(t *testing.T, kid string) joseSigner {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return joseSigner{key: k, kid: kid}
}

func (s joseSigner) jwks(t *testing.T) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.key.PublicKey, KeyID: s.kid, Use: "sig", Algorithm: "ES256"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (s joseSigner) sign(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader("kid", s.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := sig.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unsignedJWT is a JWT with the given header and claims and signature sig.
func unsignedJWT(header string, claims map[string]any, sig string) string {
	b, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(b) + "." + sig
}

// TestRequestObjectParams: the checks of RFC 9101 §6 on a request object,
// each refusal with its error code, and whether the object counts as
// verified (its redirect_uri may then receive the error).
func TestRequestObjectParams(t *testing.T) {
	const issuer = "https://id.test"
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	own, other := newJoseSigner(t, "own"), newJoseSigner(t, "other")
	c := &storage.Client{ID: "jar", AuthMethod: storage.AuthMethodPrivateKeyJWT, JWKS: own.jwks(t),
		RedirectURIs: []string{"https://app.test/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}}
	p := &Provider{issuer: issuer, now: func() time.Time { return now }, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	good := func(kv ...any) map[string]any {
		m := map[string]any{"iss": "jar", "aud": issuer, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
			"client_id": "jar", "response_type": "code", "redirect_uri": "https://app.test/cb", "scope": "openid",
			"state": "S-inner", "max_age": 300, "claims": map[string]any{"userinfo": map[string]any{"email": nil}}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	outer := url.Values{"client_id": {"jar"}, "response_type": {"code"}}
	hs256 := func() string {
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(strings.Repeat("k", 32))}, nil)
		b, _ := json.Marshal(good())
		jws, _ := sig.Sign(b)
		s, _ := jws.CompactSerialize()
		return s
	}()
	for _, tc := range []struct {
		name         string
		client       *storage.Client
		raw          string
		outer        url.Values
		wantErr      string
		wantVerified bool
	}{
		{name: "valid", raw: own.sign(t, "oauth-authz-req+jwt", good()), wantVerified: true},
		{name: "valid-typ-jwt", raw: own.sign(t, "JWT", good()), wantVerified: true},
		{name: "valid-no-typ", raw: own.sign(t, "", good()), wantVerified: true},
		{name: "client-without-keys", client: &storage.Client{ID: "jar"}, raw: own.sign(t, "", good()), wantErr: "request_not_supported"},
		{name: "another-clients-key", raw: other.sign(t, "", good()), wantErr: "invalid_request_object"},
		{name: "alg-none", raw: unsignedJWT(`{"alg":"none","typ":"JWT"}`, good(), ""), wantErr: "invalid_request_object"},
		{name: "hs256", raw: hs256, wantErr: "invalid_request_object"},
		{name: "wrong-typ", raw: own.sign(t, "dpop+jwt", good()), wantErr: "invalid_request_object"},
		{name: "malformed", raw: "not-a-jwt", wantErr: "invalid_request_object"},
		{name: "malformed-base64", raw: "a.b.c", wantErr: "invalid_request_object"},
		{name: "encrypted", raw: "a.b.c.d.e", wantErr: "invalid_request_object"},
		{name: "oversize", raw: own.sign(t, "", good("state", strings.Repeat("s", maxRequestObjectBytes))), wantErr: "invalid_request_object"},
		{name: "expired", raw: own.sign(t, "", good("exp", now.Add(-time.Minute).Unix())), wantErr: "invalid_request_object", wantVerified: true},
		{name: "no-exp", raw: own.sign(t, "", good("exp", nil)), wantErr: "invalid_request_object", wantVerified: true},
		{name: "exp-too-far", raw: own.sign(t, "", good("exp", now.Add(2*time.Hour).Unix())), wantErr: "invalid_request_object", wantVerified: true},
		{name: "wrong-aud", raw: own.sign(t, "", good("aud", "https://elsewhere.test")), wantErr: "invalid_request_object", wantVerified: true},
		{name: "no-aud", raw: own.sign(t, "", good("aud", nil)), wantErr: "invalid_request_object", wantVerified: true},
		{name: "wrong-iss", raw: own.sign(t, "", good("iss", "other")), wantErr: "invalid_request_object", wantVerified: true},
		{name: "nbf-in-future", raw: own.sign(t, "", good("nbf", now.Add(time.Hour).Unix())), wantErr: "invalid_request_object", wantVerified: true},
		{name: "iat-in-future", raw: own.sign(t, "", good("iat", now.Add(time.Hour).Unix())), wantErr: "invalid_request_object", wantVerified: true},
		{name: "client-id-mismatch", raw: own.sign(t, "", good("client_id", "other")), wantErr: "invalid_request_object", wantVerified: true},
		{name: "response-type-mismatch", raw: own.sign(t, "", good()), outer: url.Values{"client_id": {"jar"}, "response_type": {"token"}},
			wantErr: "invalid_request_object", wantVerified: true},
		{name: "request-inside", raw: own.sign(t, "", good("request", "x")), wantErr: "invalid_request_object", wantVerified: true},
		{name: "request-uri-inside", raw: own.sign(t, "", good("request_uri", "urn:x")), wantErr: "invalid_request_object", wantVerified: true},
		{name: "array-parameter", raw: own.sign(t, "", good("scope", []string{"openid"})), wantErr: "invalid_request_object", wantVerified: true},
		{name: "negative-max-age", raw: own.sign(t, "", good("max_age", -1)), wantErr: "invalid_request_object", wantVerified: true},
		{name: "object-not-claims", raw: own.sign(t, "", good("state", map[string]any{"a": 1})), wantErr: "invalid_request_object", wantVerified: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, o := c, outer
			if tc.client != nil {
				cl = tc.client
			}
			if tc.outer != nil {
				o = tc.outer
			}
			params, verified, oerr := p.requestObjectParams(t.Context(), cl, tc.raw, o)
			if verified != tc.wantVerified {
				t.Errorf("verified = %v, want %v", verified, tc.wantVerified)
			}
			if tc.wantErr != "" {
				if oerr == nil || string(oerr.ErrorType) != tc.wantErr {
					t.Fatalf("got %v, want %s", oerr, tc.wantErr)
				}
				return
			}
			if oerr != nil {
				t.Fatalf("refused: %s (%s)", oerr.ErrorType, oerr.Description)
			}
			// Only the object's parameters, claims as JSON text, numbers in decimal.
			want := url.Values{"client_id": {"jar"}, "response_type": {"code"}, "redirect_uri": {"https://app.test/cb"},
				"scope": {"openid"}, "state": {"S-inner"}, "max_age": {"300"}, "claims": {`{"userinfo":{"email":null}}`}}
			if params.Encode() != want.Encode() {
				t.Errorf("params = %v, want %v", params, want)
			}
		})
	}
}
