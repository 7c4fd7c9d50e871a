package op

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestChecklistL6PublicAddr: logout tokens go only to public addresses
// unless private networks are allowed (checklist L6; SSRF). The dialer's
// Control hook sees the address actually dialled, after resolution; the
// special-purpose ranges of issue #13 item 8 are refused in both families
// and in the IPv6 forms that embed an IPv4 address.
func TestChecklistL6PublicAddr(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		public     bool
	}{
		{"L6/loopback", "127.0.0.1:443", false},
		{"L6/loopback-v6", "[::1]:443", false},
		{"L6/loopback-v4-mapped", "[::ffff:127.0.0.1]:443", false},
		{"L6/private-10", "10.1.2.3:443", false},
		{"L6/private-192-168", "192.168.0.10:443", false},
		{"L6/private-ula", "[fd00::1]:443", false},
		{"L6/link-local-metadata", "169.254.169.254:80", false},
		{"L6/link-local-v6", "[fe80::1%eth0]:443", false},
		{"L6/cgnat", "100.64.0.1:443", false},
		{"L6/unspecified", "0.0.0.0:443", false},
		{"L6/multicast", "224.0.0.1:443", false},
		{"L6/benchmarking", "198.18.0.1:443", false},
		{"L6/ietf-protocol-assignments", "192.0.0.1:443", false},
		{"L6/reserved-240", "240.0.0.1:443", false},
		{"L6/nat64-of-private", "[64:ff9b::a00:1]:443", false},
		{"L6/6to4-of-private", "[2002:a00:1::1]:443", false},
		{"L6/teredo", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:443", false},
		{"L6/v4-compatible", "[::10.0.0.1]:443", false},
		{"L6/not-an-address", "app.example:443", false},
		{"L6/public-v4", "93.184.216.34:443", true},
		{"L6/public-v6", "[2606:4700:4700::1111]:443", true},
		{"L6/nat64-of-public", "[64:ff9b::5db8:d822]:443", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := refuseNonPublic("tcp", tc.addr, nil)
			if (err == nil) != tc.public || (err != nil && !errors.Is(err, errPrivateAddress)) {
				t.Fatalf("refuseNonPublic(%s) = %v, want public=%v", tc.addr, err, tc.public)
			}
		})
	}
}

// TestChecklistL6RefusesPrivateAddresses: without AllowPrivateNetworks a
// back-channel URI on loopback is never contacted; the delivery is retried
// and says why. A delivery for a client that was disabled since is given
// up at once.
func TestChecklistL6RefusesPrivateAddresses(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	var hits atomic.Int32
	rp := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer rp.Close()

	store := memory.New()
	c := &storage.Client{ID: "app", AuthMethod: storage.AuthMethodNone, BackchannelLogoutURI: rp.URL + "/bcl",
		CreatedAt: now, UpdatedAt: now}
	gone := &storage.Client{ID: "gone", AuthMethod: storage.AuthMethodNone, BackchannelLogoutURI: rp.URL + "/bcl",
		Disabled: true, CreatedAt: now, UpdatedAt: now}
	for _, cl := range []*storage.Client{c, gone} {
		if err := store.CreateClient(ctx, cl); err != nil {
			t.Fatal(err)
		}
	}
	due := storage.Queued{CreatedAt: now, NextAttemptAt: now}
	d1, d2 := due, due
	d1.ID, d2.ID = "d1", "d2"
	if err := store.LogoutOutbox().Enqueue(ctx,
		&storage.LogoutDelivery{Queued: d1, ClientID: "app", Subject: "u1", SessionID: "s1"},
		&storage.LogoutDelivery{Queued: d2, ClientID: "gone", Subject: "u1", SessionID: "s1"},
	); err != nil {
		t.Fatal(err)
	}
	k := keys.New(store, keys.RandomKeyEncryptionKeys(), clock)
	if err := k.Ensure(ctx, jose.RS256); err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(WorkerConfig{Issuer: "https://id.example", Store: store, Keys: k,
		Sessions: noSweep{}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Step(ctx)
	if err != nil || res.Retrying != 1 || res.Failed != 1 || res.Delivered != 0 {
		t.Fatalf("Step = %+v, %v; want one retrying and one failed delivery", res, err)
	}
	if failed, _ := store.LogoutOutbox().ListFailed(ctx); len(failed) != 1 || failed[0].ID != "d2" {
		t.Fatalf("failed deliveries: %+v", failed)
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback receiver was contacted")
	}
	ds, _ := store.LogoutOutbox().Claim(ctx, now.Add(time.Hour), time.Minute, 10)
	if len(ds) != 1 || ds[0].LastError != "refused: the address is not public" {
		t.Fatalf("delivery after the refusal: %+v", ds)
	}
}

// noSweep is a SessionSweeper with nothing to sweep.
type noSweep struct{}

func (noSweep) Sweep(context.Context, int) (int, error) { return 0, nil }
