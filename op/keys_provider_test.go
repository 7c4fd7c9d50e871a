package op

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

// newKeyClock returns the settable test clock the key tests start at.
func newKeyClock() *storagetest.Clock {
	return storagetest.NewClock(time.Date(2030, time.January, 1, 9, 0, 0, 0, time.UTC))
}

// ensuredKeys returns signing keys on store (a fresh memory store when
// nil) with algs (every supported one when none) ensured.
func ensuredKeys(t *testing.T, store storage.SigningKeys, now func() time.Time, algs ...jose.SignatureAlgorithm) *keys.Keys {
	t.Helper()
	if store == nil {
		store = memory.New()
	}
	k := keys.New(store, keys.RandomKeyEncryptionKeys(), now)
	if len(algs) == 0 {
		algs = keys.SupportedAlgorithms
	}
	if err := k.Ensure(t.Context(), algs...); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return k
}

// TestServeJWKSCaching: the JWKS may be cached for keys.JWKSMaxAge, shorter
// than the pre-publication lead, and revalidated with its ETag; a rotation
// changes the ETag.
func TestServeJWKSCaching(t *testing.T) {
	k := ensuredKeys(t, nil, nil, jose.RS256)
	p := &Provider{keys: k}
	get := func(ifNoneMatch string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, PathJWKS, nil)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		rec := httptest.NewRecorder()
		p.serveJWKS(rec, req)
		return rec
	}
	first := get("")
	etag := first.Header().Get("ETag")
	maxAge, err := strconv.Atoi(strings.TrimPrefix(first.Header().Get("Cache-Control"), "public, max-age="))
	if first.Code != http.StatusOK || etag == "" || err != nil {
		t.Fatalf("GET: %d, ETag %q, Cache-Control %q", first.Code, etag, first.Header().Get("Cache-Control"))
	}
	if lead := k.Policy().Lead; time.Duration(maxAge)*time.Second+k.Policy().Refresh > lead {
		t.Fatalf("max-age %ds plus the refresh interval exceeds the lead %s", maxAge, lead)
	}
	if ct := first.Header().Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if rec := get(etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation with the ETag: %d, %d bytes; want 304 and no body", rec.Code, rec.Body.Len())
	}
	if _, err := k.Rotate(t.Context()); err != nil { // publishes the next key: a new document
		t.Fatalf("Rotate: %v", err)
	}
	if rec := get(etag); rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Fatalf("after a new key: %d with ETag %q; want 200 and a new ETag", rec.Code, rec.Header().Get("ETag"))
	}
}

func TestETagMatches(t *testing.T) {
	for _, tc := range []struct {
		name, header string
		want         bool
	}{
		{"exact", `"abc"`, true},
		{"weak", `W/"abc"`, true},
		{"in a list", `"x", "abc"`, true},
		{"any", `*`, true},
		{"other", `"abd"`, false},
		{"unquoted", `abc`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := etagMatches(tc.header, `"abc"`); got != tc.want {
				t.Fatalf("etagMatches(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

// TestDiscoveryListsSigningAlgorithms: id_token_signing_alg_values_supported
// lists exactly the algorithms with a current key.
func TestDiscoveryListsSigningAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name string
		algs []jose.SignatureAlgorithm
		want []string
	}{
		{"all", keys.SupportedAlgorithms, []string{"ES256", "EdDSA", "PS256", "RS256"}},
		{"RS256 and ES256", []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, []string{"ES256", "RS256"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := ensuredKeys(t, nil, nil, tc.algs...)
			doc, err := (&Provider{keys: k, issuer: "https://id.test"}).discoveryDocument()
			if err != nil {
				t.Fatal(err)
			}
			var d struct {
				Algs []string `json:"id_token_signing_alg_values_supported"`
			}
			_ = json.Unmarshal(doc, &d)
			if !slices.Equal(d.Algs, tc.want) {
				t.Fatalf("id_token_signing_alg_values_supported = %v, want %v", d.Algs, tc.want)
			}
		})
	}
}

// TestCheckKeys: New refuses keys that cannot sign RS256 ID tokens or the
// access-token algorithm, or that are dropped before their tokens expire.
func TestCheckKeys(t *testing.T) {
	rsOnly := ensuredKeys(t, nil, nil, jose.RS256)
	all := ensuredKeys(t, nil, nil)
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{"all algorithms", Config{Keys: all, AccessTokenAlg: jose.ES256, AccessTokenTTL: time.Hour, IDTokenTTL: time.Hour}, ""},
		{"no ES256 key", Config{Keys: rsOnly, AccessTokenAlg: jose.ES256, AccessTokenTTL: time.Minute}, "no signing key for ES256"},
		{"RS256 access tokens", Config{Keys: rsOnly, AccessTokenAlg: jose.RS256, AccessTokenTTL: time.Minute}, ""},
		{"tokens outlive retention", Config{Keys: all, AccessTokenAlg: jose.ES256, IDTokenTTL: 48 * time.Hour}, "less than the token lifetimes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKeys(tc.cfg)
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("checkKeys = %v, want %q", err, tc.err)
			}
		})
	}
}
