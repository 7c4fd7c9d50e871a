package op

import (
	"fmt"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestVerifiedTokens: a verification is reused only for the same token
// bytes and key set, never past the token's expiry or the cache TTL, and
// the cache stays bounded.
func TestVerifiedTokens(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	claims := &accessTokenClaims{Subject: "u", JTI: "j", Expiry: now.Add(time.Hour).Unix()}
	short := &accessTokenClaims{Subject: "u", JTI: "k", Expiry: now.Add(time.Minute).Unix()}
	for _, tc := range []struct {
		name    string
		put     *accessTokenClaims
		token   string // looked up
		version string // looked up with
		at      time.Duration
		wantHit bool
	}{
		{"same-token-same-keys", claims, "tok", "v1", 0, true},
		{"other-token", claims, "tok2", "v1", 0, false},
		{"key-set-changed", claims, "tok", "v2", 0, false},
		{"within-ttl", claims, "tok", "v1", verifiedTokenTTL - time.Second, true},
		{"past-ttl", claims, "tok", "v1", verifiedTokenTTL, false},
		{"past-token-expiry", short, "tok", "v1", time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c verifiedTokens
			c.put(keyOf("tok"), "v1", tc.put, now)
			got, hit := c.get(keyOf(tc.token), tc.version, now.Add(tc.at))
			if hit != tc.wantHit {
				t.Fatalf("hit = %v, want %v", hit, tc.wantHit)
			}
			if hit && (got.JTI != tc.put.JTI || got.Expiry != tc.put.Expiry) {
				t.Fatalf("claims = %+v, want %+v", got, tc.put)
			}
		})
	}
	t.Run("new-key-set-drops-old-entries", func(t *testing.T) {
		var c verifiedTokens
		c.put(keyOf("a"), "v1", claims, now)
		c.put(keyOf("b"), "v2", claims, now)
		if _, hit := c.get(keyOf("a"), "v1", now); hit {
			t.Fatal("an entry of the old key set survived")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		var c verifiedTokens
		for i := range 3 * verifiedTokenMax {
			c.put(keyOf(fmt.Sprint(i)), "v1", claims, now)
		}
		if n := len(c.cur) + len(c.old); n > verifiedTokenMax {
			t.Fatalf("%d entries, want at most %d", n, verifiedTokenMax)
		}
		if _, hit := c.get(keyOf(fmt.Sprint(3*verifiedTokenMax-1)), "v1", now); !hit {
			t.Fatal("the newest entry was dropped")
		}
	})
	t.Run("caller-cannot-change-the-entry", func(t *testing.T) {
		var c verifiedTokens
		c.put(keyOf("tok"), "v1", claims, now)
		got, _ := c.get(keyOf("tok"), "v1", now)
		got.Subject = "mallory"
		if again, _ := c.get(keyOf("tok"), "v1", now); again.Subject != "u" {
			t.Fatal("a caller changed the cached claims")
		}
	})
}

// TestVerifiedTokenStatus: a live status is kept only next to a verified
// token of the same key set, and goes with it.
func TestVerifiedTokenStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	claims := &accessTokenClaims{Subject: "u", JTI: "j", Expiry: now.Add(time.Hour).Unix()}
	st := &storage.AccessTokenStatus{Version: 7}
	var c verifiedTokens
	c.setStatus(keyOf("tok"), "v1", st) // not verified yet: nothing to attach it to
	if _, ok := c.status(keyOf("tok"), "v1"); ok {
		t.Fatal("a status was kept for a token never verified")
	}
	c.put(keyOf("tok"), "v1", claims, now)
	if _, ok := c.status(keyOf("tok"), "v1"); ok {
		t.Fatal("a verified token has a status before one was set")
	}
	c.setStatus(keyOf("tok"), "v1", st)
	for _, tc := range []struct {
		name, token, version string
		want                 bool
	}{
		{"same-token-and-keys", "tok", "v1", true},
		{"other-token", "tok2", "v1", false},
		{"other-key-set", "tok", "v2", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := c.status(keyOf(tc.token), tc.version)
			if ok != tc.want || ok && got.Version != 7 {
				t.Fatalf("status = %+v, %v; want found %v", got, ok, tc.want)
			}
		})
	}
	c.put(keyOf("other"), "v2", claims, now) // the key set changed: everything goes
	if _, ok := c.status(keyOf("tok"), "v1"); ok {
		t.Fatal("a status survived a key set change")
	}
}
