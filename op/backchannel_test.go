package op

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestChecklistL6PublicAddr: logout tokens go only to public addresses
// unless private networks are allowed (checklist L6; SSRF).
func TestChecklistL6PublicAddr(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
		public     bool
	}{
		{"L6/loopback", "127.0.0.1", false},
		{"L6/loopback-v6", "::1", false},
		{"L6/loopback-v4-mapped", "::ffff:127.0.0.1", false},
		{"L6/private-10", "10.1.2.3", false},
		{"L6/private-192-168", "192.168.0.10", false},
		{"L6/private-ula", "fd00::1", false},
		{"L6/link-local-metadata", "169.254.169.254", false},
		{"L6/link-local-v6", "fe80::1", false},
		{"L6/cgnat", "100.64.0.1", false},
		{"L6/unspecified", "0.0.0.0", false},
		{"L6/multicast", "224.0.0.1", false},
		{"L6/public-v4", "93.184.216.34", true},
		{"L6/public-v6", "2606:4700:4700::1111", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := publicAddr(netip.MustParseAddr(tc.addr)); got != tc.public {
				t.Fatalf("publicAddr(%s) = %v, want %v", tc.addr, got, tc.public)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second},
		{9, 2560 * time.Second}, {10, time.Hour}, {100, time.Hour},
	} {
		if got := retryDelay(tc.attempt); got != tc.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
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
	if err := store.EnqueueLogoutDeliveries(ctx, []*storage.LogoutDelivery{
		{ID: "d1", ClientID: "app", Subject: "u1", SessionID: "s1", CreatedAt: now, NextAttemptAt: now},
		{ID: "d2", ClientID: "gone", Subject: "u1", SessionID: "s1", CreatedAt: now, NextAttemptAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	k := keys.New(store, keys.RandomKeyEncryptionKeys(), clock)
	if err := k.Ensure(ctx, jose.RS256); err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(WorkerConfig{Issuer: "https://id.example", Store: store, Keys: k,
		Logout: NewLogout(LogoutConfig{Store: store, Now: clock}), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Step(ctx)
	if err != nil || res.Retrying != 1 || res.Failed != 1 || res.Delivered != 0 {
		t.Fatalf("Step = %+v, %v; want one retrying and one failed delivery", res, err)
	}
	if failed, _ := store.ListFailedLogoutDeliveries(ctx); len(failed) != 1 || failed[0].ID != "d2" {
		t.Fatalf("failed deliveries: %+v", failed)
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback receiver was contacted")
	}
	ds, _ := store.ClaimLogoutDeliveries(ctx, now.Add(time.Hour), time.Minute, 10)
	if len(ds) != 1 || ds[0].LastError != "refused: the address is not public" {
		t.Fatalf("delivery after the refusal: %+v", ds)
	}
}
