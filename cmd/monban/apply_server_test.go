package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/monban-idp/monban/storage"
)

// serverApply runs "monban apply --server" against a real server over
// HTTP, with a service account's token in a token file.
type serverApply struct {
	t          *testing.T
	p          *testProvider
	dir        string
	writeToken string // admin:write
	readToken  string // admin:read
	tokenFile  string // holds writeToken, mode 0600
}

func newServerApply(t *testing.T, store storage.Store) *serverApply {
	t.Helper()
	p := newTestServer(t, withStore(store))
	for _, u := range []string{"alice", "bob", "carol"} {
		p.addUser(t, u, alicePassword)
	}
	token := func(id, scope string) string {
		secret := p.addClient(t, storage.Client{ID: id, Name: id, GrantTypes: []string{"client_credentials"}, Scopes: []string{scope}})
		cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: p.URL + "/token",
			Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInHeader}
		tok, err := cfg.Token(t.Context())
		if err != nil {
			t.Fatalf("client_credentials for %s: %v", id, err)
		}
		return tok.AccessToken
	}
	s := &serverApply{t: t, p: p, dir: t.TempDir(), writeToken: token("deployer", "admin:write"), readToken: token("viewer", "admin:read")}
	s.tokenFile = s.file("token", "  "+s.writeToken+"\n")
	return s
}

func (s *serverApply) file(name, content string) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// run runs "monban apply args… --server URL --token-file F"; hook, when
// not nil, runs between the plan and the first write.
func (s *serverApply) run(hook func(), server, tokenFile string, args ...string) result {
	s.t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: envMap(nil)}
	args = append(args, "--server", server, "--token-file", tokenFile)
	code := c.report(named("apply", c.applyWith(s.t.Context(), args, applySeams{beforeExecute: hook})))
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (s *serverApply) mustApply(args ...string) result {
	s.t.Helper()
	r := s.run(nil, s.p.URL, s.tokenFile, args...)
	if r.code != 0 {
		s.t.Fatalf("monban apply %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (s *serverApply) client(id string) *storage.Client {
	s.t.Helper()
	c, err := s.p.Store.GetClient(s.t.Context(), id)
	if err != nil {
		s.t.Fatalf("GetClient(%s): %v", id, err)
	}
	return c
}

// group returns a stored group and its members' usernames.
func (s *serverApply) group(name string) (*storage.Group, []string) {
	s.t.Helper()
	g, err := s.p.Store.GetGroupByName(s.t.Context(), name)
	if err != nil {
		s.t.Fatalf("GetGroupByName(%s): %v", name, err)
	}
	us, err := s.p.Store.ListGroupMembers(s.t.Context(), g.ID, "", 100)
	if err != nil {
		s.t.Fatal(err)
	}
	var names []string
	for _, u := range us {
		names = append(names, u.Username)
	}
	slices.Sort(names)
	return g, names
}

func (s *serverApply) clientIDs() string {
	s.t.Helper()
	cls, err := s.p.Store.ListClients(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	var ids []string
	for _, c := range cls {
		ids = append(ids, c.ID)
	}
	return strings.Join(ids, ",")
}

// serverConfig declares a web client (secret generated), a service
// account and a group with members; no declared secret, so a second run
// can plan nothing.
func serverConfig(redirect, description, members string) string {
	return `clients:
  - id: shop
    name: Shop
    redirect_uris: [` + redirect + `]
    allowed_groups: [staff]
    claim_mappings:
      - {claim: dept, attribute: department}
    access_token_ttl: 2m
service_accounts:
  - id: ci
    name: CI pipeline
    scopes: [admin:read, admin:write]
groups:
  - name: staff
    description: ` + description + `
    members: [` + members + `]
`
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestApplyServerTwice: apply through the admin API creates the clients
// and the group (managed, the service account in the audit trail); the
// second run plans nothing; a declared secret is set through the API,
// never printed, and plans "(changed)" on every run (the API shows no
// hashes to compare with).
func TestApplyServerTwice(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		s := newServerApply(t, store)
		cfg := s.file("monban.yaml", serverConfig("https://shop.example/cb", "Shop staff", "alice, bob"))
		r := s.mustApply("-f", cfg)
		wantLines(t, r.stdout, "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.", `+ group "staff"`,
			`+ client "shop"`, `+ client "ci"`, "Applied: 3 created", `Left alone (not managed by apply): client "deployer", client "viewer"`)
		secrets := map[string]string{}
		for _, line := range strings.Split(r.stdout, "\n") {
			if m := generatedSecretLine.FindStringSubmatch(line); m != nil {
				secrets[m[1]] = m[2]
			}
		}
		for _, id := range []string{"shop", "ci"} {
			c := s.client(id)
			if secrets[id] == "" || c.SecretHash != storage.HashToken(secrets[id]) || !c.Managed {
				t.Errorf("client %s as stored (managed %v) does not match the printed secret %q", id, c.Managed, secrets[id])
			}
		}
		if shop := s.client("shop"); shop.AccessTokenTTL.Minutes() != 2 || len(shop.ClaimMappings) != 1 ||
			strings.Join(shop.AllowedGroups, ",") != "staff" || shop.RedirectURIs[0] != "https://shop.example/cb" {
			t.Errorf("shop as stored: %+v", shop)
		}
		if g, m := s.group("staff"); !g.Managed || g.Description != "Shop staff" || strings.Join(m, ",") != "alice,bob" {
			t.Errorf("group as stored: %+v, members %v", g, m)
		}
		entries, err := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			if e.Actor != "deployer" {
				t.Errorf("audit entry %s by %q, want the service account deployer", e.Action, e.Actor)
			}
			actions = append(actions, e.Action)
		}
		slices.Sort(actions)
		if got := strings.Join(actions, ","); got != "client.create,client.create,group.add_member,group.add_member,group.create" {
			t.Errorf("audit actions %s", got)
		}

		r = s.mustApply("-f", cfg)
		if !strings.Contains(r.stdout, "Nothing to change: 3 object(s) match the file.") || strings.Contains(r.stdout, "Client secret") {
			t.Errorf("second apply:\n%s", r.stdout)
		}
		if n, _ := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 100); len(n) != len(entries) {
			t.Errorf("the second apply wrote %d audit entries", len(n)-len(entries))
		}

		// A declared secret: sent through the API, stored, never printed.
		secretFile := s.file("shop.secret", applyShopSecret+"\n")
		withSecret := strings.Replace(serverConfig("https://shop.example/cb", "Shop staff", "alice, bob"),
			"    access_token_ttl: 2m\n", "    access_token_ttl: 2m\n    secret_file: "+secretFile+"\n", 1)
		declared := s.file("declared.yaml", withSecret)
		for range 2 {
			r = s.mustApply("-f", declared)
			wantLines(t, r.stdout, `~ client "shop": secret (changed)`, "Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged.")
			if strings.Contains(r.stdout+r.stderr, applyShopSecret) || strings.Contains(r.stdout, "Client secret") {
				t.Errorf("apply printed a secret it did not generate:\n%s", r.stdout)
			}
			if s.client("shop").SecretHash != storage.HashToken(applyShopSecret) {
				t.Error("the declared secret is not the stored one")
			}
		}
	})
}

var generatedSecretLine = regexp.MustCompile(`Client secret of "([^"]+)" \(generated; shown only this once[^:]*\): (\S+)`)

// TestApplyServerEdited: an edited file plans exactly the change (the
// client's redirect URI, the group's description and members) and the
// server holds it after.
func TestApplyServerEdited(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		s := newServerApply(t, store)
		s.mustApply("-f", s.file("monban.yaml", serverConfig("https://shop.example/cb", "Shop staff", "alice, bob")))
		r := s.mustApply("-f", s.file("monban.yaml", serverConfig("https://shop.example/callback", "The shop's staff", "alice, carol")))
		wantLines(t, r.stdout, "Plan: 0 to create, 2 to update, 0 to delete, 1 unchanged.",
			`~ group "staff": description, members`, `~ client "shop": redirect_uris`, `= client "ci"`,
			"Applied: 0 created, 2 updated, 0 deleted.")
		if shop := s.client("shop"); strings.Join(shop.RedirectURIs, ",") != "https://shop.example/callback" || shop.Name != "Shop" {
			t.Errorf("shop after the edit: %+v", shop)
		}
		if g, m := s.group("staff"); g.Description != "The shop's staff" || strings.Join(m, ",") != "alice,carol" || !g.Managed {
			t.Errorf("group after the edit: %+v, members %v", g, m)
		}
	})
}

// TestApplyServerPruneAndDryRun: --dry-run writes nothing; managed
// objects absent from the file are deleted only with --prune, unmanaged
// ones never.
func TestApplyServerPruneAndDryRun(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		s := newServerApply(t, store)
		s.p.addClient(t, storage.Client{ID: "legacy", Name: "Legacy", RedirectURIs: []string{"https://legacy.example/cb"}})
		cfg := s.file("monban.yaml", serverConfig("https://shop.example/cb", "Shop staff", "alice"))
		r := s.mustApply("-f", cfg, "--dry-run")
		wantLines(t, r.stdout, "Plan: 3 to create", "Dry run: nothing was changed.")
		if got := s.clientIDs(); got != "deployer,legacy,viewer" {
			t.Errorf("clients after --dry-run: %s", got)
		}
		if _, err := store.GetGroupByName(t.Context(), "staff"); err == nil {
			t.Error("--dry-run created the group")
		}
		if n, _ := store.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10); len(n) != 0 {
			t.Errorf("--dry-run wrote %d audit entries", len(n))
		}

		s.mustApply("-f", cfg)
		only := s.file("only-ci.yaml", "service_accounts:\n  - id: ci\n    name: CI pipeline\n    scopes: [admin:read, admin:write]\n")
		r = s.mustApply("-f", only)
		wantLines(t, r.stdout, `Managed by apply but not in the file (run with --prune to delete them): client "shop", group "staff"`)
		if got := s.clientIDs(); got != "ci,deployer,legacy,shop,viewer" {
			t.Errorf("clients without --prune: %s", got)
		}
		r = s.mustApply("-f", only, "--prune")
		wantLines(t, r.stdout, `- client "shop"`, `- group "staff"`, "Applied: 0 created, 0 updated, 2 deleted.",
			`Left alone (not managed by apply): client "deployer", client "legacy", client "viewer"`)
		if got := s.clientIDs(); got != "ci,deployer,legacy,viewer" {
			t.Errorf("clients after --prune: %s", got)
		}
		if _, err := store.GetGroupByName(t.Context(), "staff"); err == nil {
			t.Error("the managed group survived --prune")
		}
	})
}

// TestApplyServerConcurrentChange: a change through the API between the
// plan and the write (to a client: its ETag; to a group's members, which
// the ETag does not cover) makes apply fail with the message of the
// database mode, and the other change is kept.
func TestApplyServerConcurrentChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		s := newServerApply(t, store)
		s.mustApply("-f", s.file("monban.yaml", serverConfig("https://shop.example/cb", "Shop staff", "alice")))

		// The client.
		edited := s.file("edited.yaml", serverConfig("https://shop.example/new", "Shop staff", "alice"))
		r := s.run(func() {
			if res, body := apiCall(t, s.p, "PATCH", "/clients/shop", s.writeToken, map[string]any{"client_name": "Renamed through the API"}); res.StatusCode != http.StatusOK {
				t.Fatalf("concurrent PATCH: %d %s", res.StatusCode, body)
			}
		}, s.p.URL, s.tokenFile, "-f", edited)
		if r.code != 1 || !strings.Contains(r.stderr, `client "shop" was changed by someone else after apply read it`) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		wantLines(t, r.stdout, "Stopped after 0 of 1 changes.")
		if shop := s.client("shop"); shop.Name != "Renamed through the API" || shop.RedirectURIs[0] != "https://shop.example/cb" {
			t.Errorf("apply overwrote the concurrent change: %+v", shop)
		}
		r = s.mustApply("-f", edited)
		wantLines(t, r.stdout, `~ client "shop": name, redirect_uris`)

		// The group's members.
		g, _ := s.group("staff")
		bob, err := store.GetUserByUsername(t.Context(), "bob")
		if err != nil {
			t.Fatal(err)
		}
		described := s.file("described.yaml", serverConfig("https://shop.example/new", "Changed by apply", "alice"))
		r = s.run(func() {
			if res, body := apiCall(t, s.p, "POST", "/groups/"+g.ID+"/members", s.writeToken, map[string]any{"user_id": bob.ID}); res.StatusCode != http.StatusOK {
				t.Fatalf("concurrent member: %d %s", res.StatusCode, body)
			}
		}, s.p.URL, s.tokenFile, "-f", described)
		if r.code != 1 || !strings.Contains(r.stderr, `group "staff" was changed by someone else after apply read it`) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if g, m := s.group("staff"); g.Description != "Shop staff" || strings.Join(m, ",") != "alice,bob" {
			t.Errorf("apply overwrote the concurrent member: %+v %v", g, m)
		}
	})
}

// TestApplyServerRefusals: a read-only token, a bad token, an empty
// token file, a wrong URL and an unreachable server each fail with a
// clear message and change nothing; a token file others can read is
// warned about.
func TestApplyServerRefusals(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		s := newServerApply(t, store)
		cfg := s.file("monban.yaml", serverConfig("https://shop.example/cb", "Shop staff", "alice"))
		readOnly := s.file("read-token", s.readToken)
		if err := os.Chmod(readOnly, 0o644); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, server, token string
			code                int
			want                []string
		}{
			{"read-only token", s.p.URL, readOnly, 1, []string{`cannot create group "staff": the admin API refused the token (403 Insufficient scope)`,
				"apply needs a token with admin:write", "warning: the token file", "can be read by others (mode 0644)"}},
			{"bad token", s.p.URL, s.file("bad-token", "not-a-token"), 1, []string{"the admin API refused the token (401 Invalid access token)",
				"Put a live access token of a service account in the token file"}},
			{"empty token file", s.p.URL, s.file("empty", "\n"), 2, []string{"the token file is empty"}},
			{"no token file", s.p.URL, filepath.Join(s.dir, "missing"), 2, []string{"--token-file: "}},
			{"wrong URL", s.p.URL + "/not-here", s.tokenFile, 1, []string{"and no problem document: is --server the URL of a monban server?"}},
			{"unreachable", "http://127.0.0.1:1", s.tokenFile, 1, []string{"cannot reach the admin API at http://127.0.0.1:1"}},
			{"not a URL", "id.example.com", s.tokenFile, 2, []string{`--server "id.example.com": give the server's URL`}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.run(nil, tc.server, tc.token, "-f", cfg)
				if r.code != tc.code {
					t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
				}
				wantLines(t, r.stderr, tc.want...)
				if strings.Contains(r.stderr+r.stdout, s.readToken) || strings.Contains(r.stderr+r.stdout, s.writeToken) {
					t.Error("the output shows the token")
				}
				if got := s.clientIDs(); got != "deployer,viewer" {
					t.Errorf("clients after the refusal: %s", got)
				}
			})
		}
		r := s.run(nil, s.p.URL, s.tokenFile, "-f", cfg, "--dry-run")
		if strings.Contains(r.stderr, "warning") {
			t.Errorf("a 0600 token file on loopback was warned about: %s", r.stderr)
		}
	})
}
