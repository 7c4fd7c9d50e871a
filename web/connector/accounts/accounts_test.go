package accounts

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/web/connector"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newResolver(t *testing.T) (*Resolver, *memory.Store) {
	t.Helper()
	s := memory.New()
	ctx := context.Background()
	for _, u := range []*storage.User{
		{ID: "u-alice", Username: "alice", Email: "alice@example.test", EmailVerified: true, PasswordHash: "a-hash"},
		{ID: "u-off", Username: "off", Disabled: true},
		{ID: "u-octo", Username: "octocat", Email: "octo@example.test"}, // no password: signs in upstream only
	} {
		u.CreatedAt, u.UpdatedAt = t0, t0
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []*storage.FederatedIdentity{
		{ConnectorID: "up", Subject: "s-alice", UserID: "u-alice"},
		{ConnectorID: "up", Subject: "s-off", UserID: "u-off"},
	} {
		l.CreatedAt, l.LastUsedAt = t0, t0
		if err := s.CreateFederatedIdentity(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	return &Resolver{Store: s, Now: func() time.Time { return t0 }}, s
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name        string
		id          connector.Identity
		jit         bool
		wantUser    string // username
		wantCreated bool
		wantErr     error
	}{
		{name: "linked identity", id: connector.Identity{ConnectorID: "up", Subject: "s-alice"}, wantUser: "alice"},
		{name: "linked to a disabled user", id: connector.Identity{ConnectorID: "up", Subject: "s-off"}, jit: true, wantErr: ErrDisabled},
		{name: "same e-mail as a local account is never linked silently",
			id:  connector.Identity{ConnectorID: "up", Subject: "s-new", Username: "mallory", Email: "ALICE@example.test", EmailVerified: true},
			jit: true, wantErr: ErrLinkRequired},
		{name: "same e-mail as an account without a password cannot be linked here",
			id:  connector.Identity{ConnectorID: "up", Subject: "s-new", Username: "mallory", Email: "octo@example.test", EmailVerified: true},
			jit: true, wantErr: ErrLinkImpossible},
		{name: "not linked, no JIT", id: connector.Identity{ConnectorID: "up", Subject: "s-new", Username: "newbie"}, wantErr: ErrNoAccount},
		{name: "JIT creates a user", id: connector.Identity{ConnectorID: "up", Subject: "s-new", Username: "newbie", Email: "n@example.test"},
			jit: true, wantUser: "newbie", wantCreated: true},
		{name: "JIT username collision gets a suffix", id: connector.Identity{ConnectorID: "gh", Subject: "1", Username: "octocat"},
			jit: true, wantUser: "octocat-2", wantCreated: true},
		{name: "JIT username from the e-mail, white space removed", id: connector.Identity{ConnectorID: "up", Subject: "s-x", Email: "a b@example.test"},
			jit: true, wantUser: "ab", wantCreated: true},
		{name: "no subject", id: connector.Identity{ConnectorID: "up"}, jit: true, wantErr: ErrUnusable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, s := newResolver(t)
			u, created, err := r.Resolve(t.Context(), tc.id, tc.jit)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if _, err := s.GetFederatedIdentity(t.Context(), tc.id.ConnectorID, tc.id.Subject); tc.id.Subject == "s-new" && err == nil {
					t.Fatal("a refused identity was linked")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Username != tc.wantUser || created != tc.wantCreated {
				t.Fatalf("got %s created=%v, want %s created=%v", u.Username, created, tc.wantUser, tc.wantCreated)
			}
			if created {
				if u.PasswordHash != "" || u.EmailVerified != tc.id.EmailVerified {
					t.Fatalf("new user has a password or wrong verification: %+v", u)
				}
				if _, err := s.GetFederatedIdentity(t.Context(), tc.id.ConnectorID, tc.id.Subject); err != nil {
					t.Fatalf("new user not linked: %v", err)
				}
			}
		})
	}
}

// TestGroupSync: the upstream's groups are created and joined; a group
// the user was in before stays when the upstream drops it; only the
// memberships the identity added go.
func TestGroupSync(t *testing.T) {
	r, s := newResolver(t)
	ctx := t.Context()
	local := &storage.Group{ID: "g-local", Name: "staff", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateGroup(ctx, local); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, local.ID, "u-alice"); err != nil {
		t.Fatal(err)
	}
	groups := func() []string {
		u, err := s.GetUser(ctx, "u-alice")
		if err != nil {
			t.Fatal(err)
		}
		return u.Groups
	}
	steps := []struct {
		name     string
		upstream []string
		want     []string
	}{
		{"upstream names eng and staff", []string{"eng", "staff"}, []string{"eng", "staff"}},
		{"upstream adds ops", []string{"eng", "ops", "staff"}, []string{"eng", "ops", "staff"}},
		{"upstream drops everything: the admin's membership stays", []string{}, []string{"staff"}},
		{"nil groups leave memberships alone", nil, []string{"staff"}},
	}
	for _, st := range steps {
		u, _, err := r.Resolve(ctx, connector.Identity{ConnectorID: "up", Subject: "s-alice"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Finish(ctx, u, connector.Identity{ConnectorID: "up", Subject: "s-alice", Groups: st.upstream}); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := groups(); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: groups %v, want %v", st.name, got, st.want)
		}
	}
}
