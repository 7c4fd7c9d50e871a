package apply

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// eachStore runs fn on the memory store and on PostgreSQL.
func eachStore(t *testing.T, fn func(t *testing.T, st storage.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, memory.New()) })
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(st.Close)
		fn(t, st)
	})
}

// planFor loads the target's state for d and plans d against it.
func planFor(t *testing.T, tg Target, d *Desired) *Plan {
	t.Helper()
	state, err := Load(t.Context(), tg, d)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	p, err := MakePlan(state, d, Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	return p
}

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// TestStoreTargetRoundTrip: what apply writes reads back at the planned
// state (a second plan is empty), each write has its audit entry, and
// the secret is stored hashed, never in the trail.
func TestStoreTargetRoundTrip(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		for _, u := range []string{"alice", "bob"} {
			if err := st.CreateUser(ctx, &storage.User{ID: "id-" + u, Username: u, CreatedAt: fixedNow(), UpdatedAt: fixedNow()}); err != nil {
				t.Fatal(err)
			}
		}
		tg := &StoreTarget{Store: st, Now: fixedNow}
		d := desire(t, shopFile)
		if _, err := Execute(ctx, tg, planFor(t, tg, d)); err != nil {
			t.Fatalf("Execute: %v", err)
		}
		cl, err := tg.GetClient(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		if cl.Client.SecretHash != storage.HashToken(secretA) || !cl.Client.Managed {
			t.Errorf("stored client: %+v", cl.Client)
		}
		g, err := tg.GetGroup(ctx, "staff")
		if err != nil {
			t.Fatal(err)
		}
		if !g.Group.Managed || g.Group.Description != "the staff" || strings.Join(g.Members, ",") != "alice,bob" {
			t.Errorf("stored group: %+v %v", g.Group, g.Members)
		}
		if _, err := tg.GetClient(ctx, "nope"); !errors.Is(err, ErrGone) {
			t.Errorf("GetClient(missing) = %v, want ErrGone", err)
		}

		if p := planFor(t, tg, d); !p.Empty() {
			t.Fatalf("second plan: %+v; want nothing to do", p)
		}
		entries, err := st.ListAudit(ctx, storage.AuditFilter{}, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
			if e.Actor != Actor {
				t.Errorf("audit entry %s has actor %q, want %q", e.Action, e.Actor, Actor)
			}
			if strings.Contains(e.After, storage.HashToken(secretA)) || strings.Contains(e.After, secretA) {
				t.Errorf("audit entry %s holds the secret or its hash: %s", e.Action, e.After)
			}
		}
		if len(actions) != 2 {
			t.Errorf("audit actions %q, want a group.create and a client.create", actions)
		}
	})
}

// TestStoreTargetStale: an update or delete at an old version writes
// nothing and reports ErrStale; at a missing object ErrGone.
func TestStoreTargetStale(t *testing.T) {
	eachStore(t, func(t *testing.T, st storage.Store) {
		ctx := t.Context()
		tg := &StoreTarget{Store: st, Now: fixedNow}
		d := desire(t, "clients:\n  - id: shop\n    name: Shop\n    redirect_uris: [https://shop.example/cb]\n    secret_env: SHOP_SECRET\ngroups:\n  - name: staff\n")
		p, err := MakePlan(&State{}, d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Execute(ctx, tg, p); err != nil {
			t.Fatal(err)
		}
		cl, _ := tg.GetClient(ctx, "shop")
		g, _ := tg.GetGroup(ctx, "staff")
		// Someone else changes both.
		if _, err := st.UpdateClient(ctx, "shop", func(c *storage.Client) error { c.Name = "Renamed elsewhere"; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateGroup(ctx, g.Group.ID, func(g *storage.Group) error { g.Description = "elsewhere"; return nil }); err != nil {
			t.Fatal(err)
		}
		w := ClientWrite{Client: cl.Client.Clone()}
		w.Client.RequireConsent = true
		if err := tg.UpdateClient(ctx, cl.Version, w); !errors.Is(err, ErrStale) {
			t.Errorf("UpdateClient at an old version = %v, want ErrStale", err)
		}
		if err := tg.DeleteClient(ctx, "shop", cl.Version); !errors.Is(err, ErrStale) {
			t.Errorf("DeleteClient at an old version = %v, want ErrStale", err)
		}
		if err := tg.UpdateGroup(ctx, g.Version, GroupWrite{Group: &storage.Group{Name: "staff", Managed: true}}); !errors.Is(err, ErrStale) {
			t.Errorf("UpdateGroup at an old version = %v, want ErrStale", err)
		}
		if err := tg.DeleteGroup(ctx, "staff", g.Version); !errors.Is(err, ErrStale) {
			t.Errorf("DeleteGroup at an old version = %v, want ErrStale", err)
		}
		now, _ := tg.GetClient(ctx, "shop")
		if now.Client.Name != "Renamed elsewhere" || now.Client.RequireConsent {
			t.Errorf("a stale write changed the client: %+v", now.Client)
		}
		if err := tg.DeleteClient(ctx, "nope", "v"); !errors.Is(err, ErrGone) {
			t.Errorf("DeleteClient(missing) = %v, want ErrGone", err)
		}
		if err := tg.CreateClient(ctx, ClientWrite{Client: now.Client}); !errors.Is(err, ErrExists) {
			t.Errorf("CreateClient(taken) = %v, want ErrExists", err)
		}
		entries, _ := st.ListAudit(ctx, storage.AuditFilter{}, 0, 10)
		if len(entries) != 2 {
			t.Errorf("%d audit entries, want only the two creations", len(entries))
		}
		// At the current version the delete goes through.
		now, _ = tg.GetClient(ctx, "shop")
		if err := tg.DeleteClient(ctx, "shop", now.Version); err != nil {
			t.Errorf("DeleteClient at the current version: %v", err)
		}
	})
}
