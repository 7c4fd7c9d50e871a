package apply

import (
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

const secretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// testEnv serves secrets and files from maps.
func testEnv() Env {
	vars := map[string]string{"SHOP_SECRET": secretA}
	files := map[string]string{"/run/secret": secretA + "\n"}
	return Env{
		Getenv: func(k string) string { return vars[k] },
		ReadFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
	}
}

// desire decodes and validates a file for a test.
func desire(t *testing.T, yaml string) *Desired {
	t.Helper()
	f, err := Decode(strings.NewReader(yaml))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	d, err := Desire(f, testEnv())
	if err != nil {
		t.Fatalf("Desire: %v", err)
	}
	return d
}

const shopFile = `
clients:
  - id: shop
    name: Shop
    redirect_uris: [https://shop.example/cb]
    secret_env: SHOP_SECRET
groups:
  - name: staff
    description: the staff
    members: [bob, alice]
`

// shopClient is the client shopFile declares, as stored after an apply.
func shopClient(mod ...func(*storage.Client)) ClientState {
	c := &storage.Client{ID: "shop", Name: "Shop", AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
		RedirectURIs: []string{"https://shop.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"openid", "profile", "email"}, SecretHash: storage.HashToken(secretA), Managed: true}
	for _, m := range mod {
		m(c)
	}
	return ClientState{Client: c, Version: ClientVersion(c)}
}

func staffGroup(mod ...func(*GroupState)) GroupState {
	g := GroupState{Group: &storage.Group{ID: "g1", Name: "staff", Description: "the staff", Managed: true}, Members: []string{"alice", "bob"}}
	for _, m := range mod {
		m(&g)
	}
	g.Version = GroupVersion(g.Group, g.Members)
	return g
}

// line is a change as the tests compare it.
type line struct {
	Action Action
	Kind   string
	Name   string
	Fields []string
}

func TestMakePlan(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		state     State
		opts      Options
		want      []line
		kept      []string
		unmanaged []string
		wantErr   []string
	}{
		{
			name: "empty target: everything is created",
			file: shopFile,
			want: []line{{Create, KindGroup, "staff", nil}, {Create, KindClient, "shop", nil}},
		},
		{
			name:  "target as the file says: nothing to do",
			file:  shopFile,
			state: State{Clients: []ClientState{shopClient()}, Groups: []GroupState{staffGroup()}},
			want:  []line{{Unchanged, KindGroup, "staff", nil}, {Unchanged, KindClient, "shop", nil}},
		},
		{
			name: "an edited setting plans exactly that field",
			file: shopFile,
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) {
				c.RedirectURIs = []string{"https://old.example/cb"}
				c.RequireConsent = true
			})}, Groups: []GroupState{staffGroup()}},
			want: []line{{Unchanged, KindGroup, "staff", nil}, {Update, KindClient, "shop", []string{"redirect_uris", "require_consent"}}},
		},
		{
			name: "a different secret is changed, never shown",
			file: shopFile,
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.SecretHash = storage.HashToken("other") })},
				Groups: []GroupState{staffGroup()}},
			want: []line{{Unchanged, KindGroup, "staff", nil}, {Update, KindClient, "shop", []string{"secret (changed)"}}},
		},
		{
			name:  "a secret from a file compares like one from the environment",
			file:  strings.Replace(shopFile, "secret_env: SHOP_SECRET", "secret_file: /run/secret", 1),
			state: State{Clients: []ClientState{shopClient()}, Groups: []GroupState{staffGroup()}},
			want:  []line{{Unchanged, KindGroup, "staff", nil}, {Unchanged, KindClient, "shop", nil}},
		},
		{
			name: "members and description changes",
			file: shopFile,
			state: State{Clients: []ClientState{shopClient()}, Groups: []GroupState{staffGroup(func(g *GroupState) {
				g.Members, g.Group.Description = []string{"alice"}, "old"
			})}},
			want: []line{{Update, KindGroup, "staff", []string{"description", "members"}}, {Unchanged, KindClient, "shop", nil}},
		},
		{
			name:  "a group without members in the file keeps its members",
			file:  "groups:\n  - name: staff\n    description: the staff\n",
			state: State{Groups: []GroupState{staffGroup()}},
			want:  []line{{Unchanged, KindGroup, "staff", nil}},
		},
		{
			name:    "an unmanaged object in the file is refused",
			file:    shopFile,
			state:   State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.Managed = false })}},
			wantErr: []string{`client "shop" exists but is not managed by apply`, "--adopt"},
		},
		{
			name:  "--adopt takes it over",
			file:  shopFile,
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.Managed = false })}, Groups: []GroupState{staffGroup()}},
			opts:  Options{Adopt: true},
			want:  []line{{Unchanged, KindGroup, "staff", nil}, {Update, KindClient, "shop", []string{"managed (adopted)"}}},
		},
		{
			name: "without --prune managed objects absent from the file are kept",
			file: "groups: []\n",
			state: State{Clients: []ClientState{shopClient(), shopClient(func(c *storage.Client) { c.ID, c.Managed = "legacy", false })},
				Groups: []GroupState{staffGroup()}},
			kept:      []string{`client "shop"`, `group "staff"`},
			unmanaged: []string{`client "legacy"`},
		},
		{
			name: "--prune deletes managed objects only",
			file: "groups: []\n",
			state: State{Clients: []ClientState{shopClient(), shopClient(func(c *storage.Client) { c.ID, c.Managed = "legacy", false })},
				Groups: []GroupState{staffGroup(), staffGroup(func(g *GroupState) { g.Group = &storage.Group{ID: "g2", Name: "admins"} })}},
			opts:      Options{Prune: true},
			want:      []line{{Delete, KindClient, "shop", nil}, {Delete, KindGroup, "staff", nil}},
			unmanaged: []string{`client "legacy"`, `group "admins"`},
		},
		{
			name: "--prune refuses a group an unmanaged client still names",
			file: "groups: []\n",
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.ID, c.Managed, c.AllowedGroups = "legacy", false, []string{"staff"} })},
				Groups: []GroupState{staffGroup()}},
			opts:    Options{Prune: true},
			wantErr: []string{`group "staff": cannot delete it (--prune): the allowed_groups of client "legacy" name it`},
		},
		{
			name: "a client's rule may name a group the file creates, not one that exists nowhere",
			file: shopFile + "\n" + "service_accounts:\n  - id: ci\n    name: CI\n    scopes: [admin:read]\n" +
				"  - id: other\n    name: Other\n    scopes: [admin:read]\n",
			want: []line{{Create, KindGroup, "staff", nil}, {Create, KindClient, "shop", nil}, {Create, KindClient, "ci", nil}, {Create, KindClient, "other", nil}},
		},
		{
			name:    "a group that does not exist",
			file:    "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    allowed_groups: [ghosts]\n",
			wantErr: []string{`line 2: client "a": allowed_groups: group "ghosts" does not exist and is not declared in the file`},
		},
		{
			name:    "a member that does not exist",
			file:    shopFile,
			state:   State{MissingUsers: []string{"bob"}},
			wantErr: []string{`line 8: group "staff": members: user "bob" does not exist`},
		},
		{
			name:  "a client turned public loses its secret",
			file:  "clients:\n  - id: shop\n    name: Shop\n    redirect_uris: [https://shop.example/cb]\n    token_endpoint_auth_method: none\n",
			state: State{Clients: []ClientState{shopClient()}},
			want:  []line{{Update, KindClient, "shop", []string{"token_endpoint_auth_method", "secret (removed)"}}},
		},
		{
			name:  "a client turned confidential gets a generated secret",
			file:  "clients:\n  - id: shop\n    name: Shop\n    redirect_uris: [https://shop.example/cb]\n",
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.AuthMethod, c.SecretHash = storage.AuthMethodNone, "" })}},
			want:  []line{{Update, KindClient, "shop", []string{"token_endpoint_auth_method", "secret (generated)"}}},
		},
		{
			name:  "refresh_id_token: false plans exactly that field",
			file:  strings.Replace(shopFile, "    secret_env:", "    refresh_id_token: false\n    secret_env:", 1),
			state: State{Clients: []ClientState{shopClient()}, Groups: []GroupState{staffGroup()}},
			want:  []line{{Unchanged, KindGroup, "staff", nil}, {Update, KindClient, "shop", []string{"refresh_id_token"}}},
		},
		{
			name: "refresh_id_token: false on a client stored without it plans nothing",
			file: strings.Replace(shopFile, "    secret_env:", "    refresh_id_token: false\n    secret_env:", 1),
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.OmitRefreshIDToken = true })},
				Groups: []GroupState{staffGroup()}},
			want: []line{{Unchanged, KindGroup, "staff", nil}, {Unchanged, KindClient, "shop", nil}},
		},
		{
			name: "refresh_id_token left out restores the default, true",
			file: shopFile,
			state: State{Clients: []ClientState{shopClient(func(c *storage.Client) { c.OmitRefreshIDToken = true })},
				Groups: []GroupState{staffGroup()}},
			want: []line{{Unchanged, KindGroup, "staff", nil}, {Update, KindClient, "shop", []string{"refresh_id_token"}}},
		},
		{
			name:  "refresh_id_token: true is the default",
			file:  strings.Replace(shopFile, "    secret_env:", "    refresh_id_token: true\n    secret_env:", 1),
			state: State{Clients: []ClientState{shopClient()}, Groups: []GroupState{staffGroup()}},
			want:  []line{{Unchanged, KindGroup, "staff", nil}, {Unchanged, KindClient, "shop", nil}},
		},
		{
			name:  "a confidential client without a secret in the file keeps the stored one",
			file:  "clients:\n  - id: shop\n    name: Shop\n    redirect_uris: [https://shop.example/cb]\n",
			state: State{Clients: []ClientState{shopClient()}},
			want:  []line{{Unchanged, KindClient, "shop", nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := desire(t, tc.file)
			p, err := MakePlan(&tc.state, d, tc.opts)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("MakePlan succeeded, want an error with %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			var got []line
			for _, c := range p.Changes {
				got = append(got, line{c.Action, c.Kind, c.Name, c.Fields})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan:\n got %+v\nwant %+v", got, tc.want)
			}
			if !slices.Equal(p.Kept, tc.kept) || !slices.Equal(p.Unmanaged, tc.unmanaged) {
				t.Errorf("kept %q, unmanaged %q; want %q, %q", p.Kept, p.Unmanaged, tc.kept, tc.unmanaged)
			}
		})
	}
}

// TestMakePlanSecrets: a new confidential client without a secret in the
// file gets a generated one; one with a secret gets that; the plan's
// JSON never holds either.
func TestMakePlanSecrets(t *testing.T) {
	d := desire(t, shopFile+"  - name: ops\nservice_accounts:\n  - id: ci\n    name: CI\n    scopes: [admin:read, admin:write]\n")
	p, err := MakePlan(&State{}, d, Options{NewSecret: func() string { return "generated-secret" }})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Changes {
		switch c.Name {
		case "shop":
			if c.client.Secret != secretA || c.generated {
				t.Errorf("shop: secret %q generated %v, want the file's", c.client.Secret, c.generated)
			}
		case "ci":
			if c.client.Secret != "generated-secret" || !c.generated {
				t.Errorf("ci: secret %q generated %v, want a generated one", c.client.Secret, c.generated)
			}
			if !slices.Equal(c.client.Client.GrantTypes, []string{"client_credentials"}) || len(c.client.Client.RedirectURIs) != 0 ||
				!slices.Equal(c.client.Client.Scopes, []string{"admin:read", "admin:write"}) || !c.client.Client.Managed {
				t.Errorf("service account client: %+v", c.client.Client)
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "clients:\n  - id: a\n    redirect_uri: x\n", []string{`line 3: clients[0]: unknown key "redirect_uri"`}},
		{"unknown top-level key", "client:\n  - id: a\n", []string{`line 1: unknown key "client"`}},
		{"wrong type", "clients:\n  - id: a\n    require_mfa: often\n", []string{`line 3: clients[0].require_mfa: "often" is not true or false`}},
		{"list expected", "groups:\n  - name: a\n    members: bob\n", []string{`line 3: groups[0].members: "bob" is not a list of strings`}},
		{"wrong type of a setting with a default", "clients:\n  - id: a\n    refresh_id_token: sometimes\n",
			[]string{`line 3: clients[0].refresh_id_token: "sometimes" is not true or false`}},
		{"bad duration", "clients:\n  - id: a\n    access_token_ttl: soon\n", []string{`line 3: clients[0].access_token_ttl: "soon" is not a duration`}},
		{"not YAML", "clients: [\n", []string{"line"}},
		{"two documents", "groups: []\n---\ngroups: []\n", []string{"more than one YAML document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.file))
			if err == nil {
				t.Fatal("Decode succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "apply.") {
				t.Errorf("error names a Go type: %q", err)
			}
		})
	}
}

func TestDesireErrors(t *testing.T) {
	tests := []struct {
		name, file string
		want       string
	}{
		{"invalid redirect URI", "clients:\n  - id: a\n    name: A\n    redirect_uris: [\"http://evil.example/cb\"]\n", `line 2: client "a": redirect_uris:`},
		{"missing secret env", "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    secret_env: NONE\n", `secret_env: the environment variable NONE is not set`},
		{"missing secret file", "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    secret_file: /nope\n", `secret_file: cannot read /nope`},
		{"both secret sources", "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    secret_file: /run/secret\n    secret_env: SHOP_SECRET\n", "give one, not both"},
		{"secret for a public client", "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    token_endpoint_auth_method: none\n    secret_env: SHOP_SECRET\n", "has no secret"},
		{"duplicate id across kinds", "clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\nservice_accounts:\n  - id: a\n    name: A\n    scopes: [admin:read]\n", `declared twice`},
		{"service account without scopes", "service_accounts:\n  - id: ci\n    name: CI\n", `line 2: service account "ci": scopes:`},
		{"group twice", "groups:\n  - name: a\n  - name: a\n", `line 3: group "a": name: declared twice`},
		{"control character in a description", "groups:\n  - name: a\n    description: \"x\\u0007\"\n", `description: group description`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Decode(strings.NewReader(tc.file))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			_, err = Desire(f, testEnv())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Desire error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestConnectorsNote(t *testing.T) {
	d := desire(t, "connectors:\n  - type: github\n")
	if len(d.Notes) != 1 || !strings.Contains(d.Notes[0], "connectors are configured in the server config file") {
		t.Errorf("notes %q", d.Notes)
	}
}
