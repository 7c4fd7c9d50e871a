package op

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestClientCache checks that clients are served from memory for the TTL,
// that changes through the cache are seen at once and that unknown
// clients are never cached.
func TestClientCache(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	base := memory.New()
	if err := base.CreateClient(ctx, &storage.Client{ID: "a", Name: "A", AuthMethod: storage.AuthMethodBasic,
		ApplicationType: storage.ApplicationWeb, GrantTypes: []string{"client_credentials"}, Scopes: []string{"x"},
		CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	disable := func(t *testing.T, st storage.Store, off bool) {
		t.Helper()
		if _, err := st.UpdateClient(ctx, "a", func(c *storage.Client) error { c.Disabled = off; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name         string
		ttl, advance time.Duration
		through      string // "store": the change bypasses the cache; "cache": through it
		wantDisabled bool
	}{
		{name: "stale within the TTL", ttl: 5 * time.Second, advance: 4 * time.Second, through: "store", wantDisabled: false},
		{name: "fresh after the TTL", ttl: 5 * time.Second, advance: 5 * time.Second, through: "store", wantDisabled: true},
		{name: "change through the cache is seen at once", ttl: 5 * time.Second, through: "cache", wantDisabled: true},
		{name: "no cache", ttl: -1, through: "store", wantDisabled: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disable(t, base, false)
			cc := newClientCache(base, tc.ttl, clock)
			if _, err := cc.GetClient(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if tc.through == "cache" {
				disable(t, cc, true)
			} else {
				disable(t, base, true)
			}
			now = now.Add(tc.advance)
			c, err := cc.GetClient(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			if c.Disabled != tc.wantDisabled {
				t.Errorf("Disabled = %v, want %v", c.Disabled, tc.wantDisabled)
			}
		})
	}
	t.Run("unknown clients are not cached", func(t *testing.T) {
		cc := newClientCache(base, time.Minute, clock)
		if _, err := cc.GetClient(ctx, "b"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("GetClient(b) = %v, want ErrNotFound", err)
		}
		if err := base.CreateClient(ctx, &storage.Client{ID: "b", Name: "B", AuthMethod: storage.AuthMethodBasic,
			ApplicationType: storage.ApplicationWeb, GrantTypes: []string{"client_credentials"}, Scopes: []string{"x"},
			CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := cc.GetClient(ctx, "b"); err != nil {
			t.Fatalf("a client registered after a miss: %v", err)
		}
	})
	t.Run("callers get their own copy", func(t *testing.T) {
		cc := newClientCache(base, time.Minute, clock)
		c1, _ := cc.GetClient(ctx, "a")
		c1.Name = "changed"
		c2, _ := cc.GetClient(ctx, "a")
		if c2.Name != "A" {
			t.Errorf("Name = %q after a caller changed its copy", c2.Name)
		}
	})
}
