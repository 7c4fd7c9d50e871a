package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestChecklistR8AdminChangeAndAudit: an admin change and its audit entry
// commit together or not at all (checklist R8, "audit row iff change
// committed"). With the audit table refusing inserts (a trigger, as a
// full disk or a crash at that moment would), registering or editing a
// client through the console fails with 503 and leaves no trace; once the
// table accepts rows again the same change is stored with exactly one
// entry.
func TestChecklistR8AdminChangeAndAudit(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$`)

	p := newTestServer(t, withStore(store))
	root := p.addUser(t, "root", "admin password 1")
	if _, err := store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	p.addClient(t, storage.Client{ID: "app", Name: "App", RedirectURIs: []string{"https://app.example/cb"}})
	b := newBrowser(t, p.URL)
	resp, body := b.visit(p.URL + "/admin")
	if resp, _ = b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"}); resp.Request.URL.Path != "/admin" {
		t.Fatalf("sign-in ended at %s", resp.Request.URL)
	}
	entries := func(target string) int {
		t.Helper()
		got, err := store.ListAudit(t.Context(), storage.AuditFilter{Target: target}, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	register := func() (*http.Response, string) {
		page, form := b.visit(p.URL + "/admin/clients/new")
		return b.submit(page, form, map[string]string{"type": "web", "id": "shop", "name": "Shop",
			"redirect_uris": "https://shop.example/cb", "scopes": "openid"})
	}
	rename := func(name string) (*http.Response, string) {
		page, form := b.visit(p.URL + "/admin/clients/app")
		return b.submit(page, form, map[string]string{"name": name})
	}

	exec(`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`)
	t.Run("R8/no-change-without-its-entry", func(t *testing.T) {
		if resp, _ := register(); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("register with the audit log down: %d, want 503", resp.StatusCode)
		}
		if _, err := store.GetClient(t.Context(), "shop"); err == nil {
			t.Fatal("the client was registered without its audit entry")
		}
		if resp, _ := rename("Renamed"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("edit with the audit log down: %d, want 503", resp.StatusCode)
		}
		if c, err := store.GetClient(t.Context(), "app"); err != nil || c.Name != "App" {
			t.Fatalf("client after the failed edit: %+v, %v; want it unchanged", c, err)
		}
	})
	exec(`DROP TRIGGER refuse_audit ON audit_log`)
	t.Run("R8/change-with-exactly-one-entry", func(t *testing.T) {
		if resp, body := register(); resp.StatusCode != http.StatusOK || !strings.Contains(body, "client_secret") {
			t.Fatalf("register: %d", resp.StatusCode)
		}
		if resp, _ := rename("Renamed"); resp.StatusCode != http.StatusOK {
			t.Fatalf("edit: %d", resp.StatusCode)
		}
		if n := entries("client:shop"); n != 1 {
			t.Errorf("%d entries for the registration, want 1", n)
		}
		if n := entries("client:app"); n != 1 {
			t.Errorf("%d entries for the edit, want 1", n)
		}
	})
}
