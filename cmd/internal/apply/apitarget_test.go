package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/web/adminapi"
)

// serviceTokens is the admin API's TokenVerifier of these tests: one
// admin:write token.
type serviceTokens struct{}

func (serviceTokens) VerifyServiceToken(_ context.Context, token string) (*adminapi.Token, error) {
	if token == "tok" {
		return &adminapi.Token{ClientID: "ci", Scopes: []string{"admin:write"}}, nil
	}
	return nil, adminapi.ErrInvalidToken
}

// newAPI serves the admin API over the memory store and returns the
// store and an APITarget for it.
func newAPI(t *testing.T) (storage.Store, *APITarget) {
	t.Helper()
	st := memory.New()
	h, err := adminapi.New(adminapi.Config{Store: st, Verifier: serviceTokens{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	at, err := NewAPITarget(srv.URL+"/", "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, at
}

func TestNewAPITarget(t *testing.T) {
	tests := []struct {
		name, server, token, want string
	}{
		{"no scheme", "id.example.com", "t", "give the server's URL"},
		{"ftp", "ftp://id.example.com", "t", "give the server's URL"},
		{"no host", "https://", "t", "give the server's URL"},
		{"user", "https://u:p@id.example.com", "t", "must not hold a user"},
		{"query", "https://id.example.com/?x=1", "t", "must not hold a user, a query"},
		{"empty token", "https://id.example.com", "", "the token file is empty"},
		{"two lines", "https://id.example.com", "a\nb", "more than one token"},
		{"API prefix given", "https://id.example.com/admin/api/v1/", "t", ""},
		{"plain", "https://id.example.com", "t", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := NewAPITarget(tc.server, tc.token, nil)
			if tc.want == "" {
				if err != nil || at.base != "https://id.example.com/admin/api/v1" {
					t.Fatalf("NewAPITarget: %v, base %v", err, at)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestAPITargetPagination: lists longer than a page are read to the end.
func TestAPITargetPagination(t *testing.T) {
	st, at := newAPI(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	n := adminapi.MaxLimit + 3
	for i := range n {
		name := fmt.Sprintf("user%03d", i)
		if err := st.CreateUser(ctx, &storage.User{ID: "u" + name, Username: name, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateGroup(ctx, &storage.Group{ID: "g" + name, Name: "group" + name, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateClient(ctx, &storage.Client{ID: "c" + name, Name: name, AuthMethod: storage.AuthMethodNone,
			ApplicationType: storage.ApplicationWeb, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if i < adminapi.MaxLimit+1 {
			if err := st.AddGroupMember(ctx, "guser000", "u"+name); err != nil {
				t.Fatal(err)
			}
		}
	}
	cls, err := at.ListClients(ctx)
	if err != nil || len(cls) != n || cls[n-1].Client.ID != fmt.Sprintf("cuser%03d", n-1) {
		t.Fatalf("ListClients: %d clients, %v", len(cls), err)
	}
	gs, err := at.ListGroups(ctx)
	if err != nil || len(gs) != n {
		t.Fatalf("ListGroups: %d groups, %v", len(gs), err)
	}
	if len(gs[0].Members) != adminapi.MaxLimit+1 {
		t.Errorf("group with %d members read as %d", adminapi.MaxLimit+1, len(gs[0].Members))
	}
	missing, err := at.MissingUsers(ctx, []string{"user000", fmt.Sprintf("user%03d", n-1), "user", "nobody"})
	if err != nil || strings.Join(missing, ",") != "user,nobody" {
		t.Errorf("MissingUsers: %v, %v", missing, err)
	}
}

// TestAPITargetErrors: the API's answers become the Target's sentinels
// and readable refusals naming the file's keys.
func TestAPITargetErrors(t *testing.T) {
	st, at := newAPI(t)
	ctx := t.Context()
	web := func(id string) *storage.Client {
		return &storage.Client{ID: id, Name: "Shop", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{"https://shop.example/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, Managed: true}
	}
	if err := at.CreateClient(ctx, ClientWrite{Client: web("shop"), Secret: secretA}); err != nil {
		t.Fatal(err)
	}
	if err := at.CreateGroup(ctx, GroupWrite{Group: &storage.Group{Name: "staff", Managed: true}}); err != nil {
		t.Fatal(err)
	}
	cur, err := at.GetClient(ctx, "shop")
	if err != nil || !cur.SecretUnknown || cur.Client.SecretHash != "" || !cur.Client.Managed {
		t.Fatalf("GetClient: %+v, %v", cur, err)
	}
	if stored, _ := st.GetClient(ctx, "shop"); stored.SecretHash != storage.HashToken(secretA) {
		t.Error("the chosen secret was not stored")
	}
	grp, err := at.GetGroup(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	named := web("shop")
	named.AllowedGroups = []string{"staff"}
	if err := at.UpdateClient(ctx, cur.Version, ClientWrite{Client: named}); err != nil {
		t.Fatal(err)
	}
	cur, _ = at.GetClient(ctx, "shop")

	ghost := web("shop")
	ghost.AllowedGroups = []string{"ghosts"}
	tests := []struct {
		name string
		do   func() error
		is   error
		want string
	}{
		{"stale client", func() error { return at.UpdateClient(ctx, `"old"`, ClientWrite{Client: web("shop")}) }, ErrStale, ""},
		{"gone client", func() error { return at.DeleteClient(ctx, "nope", `"old"`) }, ErrGone, ""},
		{"existing client", func() error { return at.CreateClient(ctx, ClientWrite{Client: web("shop"), Secret: secretA}) }, ErrExists, ""},
		{"group in use", func() error { return at.DeleteGroup(ctx, "staff", grp.Version) }, ErrInUse, ""},
		{"stale members", func() error {
			id, tag, _, _ := parseGroupVersion(grp.Version)
			return at.DeleteGroup(ctx, "staff", groupVersion(id, tag, []string{"someone"}))
		}, ErrStale, ""},
		{"missing group", func() error { return at.UpdateClient(ctx, cur.Version, ClientWrite{Client: ghost}) }, nil,
			`the admin API refused it (422 Invalid object): allowed_groups: `},
		{"short secret", func() error { return at.UpdateClient(ctx, cur.Version, ClientWrite{Client: named, Secret: "short"}) }, nil,
			"secret_file/secret_env: a chosen client secret has at least 32 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err %v, want %v", err, tc.is)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	if stored, _ := st.GetClient(ctx, "shop"); stored.SecretHash != storage.HashToken(secretA) || len(stored.AllowedGroups) != 1 {
		t.Errorf("a refused change was written: %+v", stored)
	}
}
