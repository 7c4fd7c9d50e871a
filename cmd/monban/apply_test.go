package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// applyHarness runs "monban apply" against one store.
type applyHarness struct {
	t    *testing.T
	st   storage.Store
	env  map[string]string // the database for PostgreSQL
	dir  string
	name string
}

// applyStores runs fn on the memory store and on PostgreSQL. On
// PostgreSQL the command runs as from the shell (run, --database-url from
// the environment); the memory store is handed in through applySeams.
func applyStores(t *testing.T, fn func(t *testing.T, h *applyHarness)) {
	t.Run("memory", func(t *testing.T) {
		fn(t, &applyHarness{t: t, st: memory.New(), env: map[string]string{}, dir: t.TempDir(), name: "memory"})
	})
	t.Run("postgres", func(t *testing.T) {
		env, st := dbEnv(t)
		fn(t, &applyHarness{t: t, st: st, env: env, dir: t.TempDir(), name: "postgres"})
	})
}

// file writes a file into the harness's directory and returns its path.
func (h *applyHarness) file(name, content string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// run runs "monban apply args…"; hook, when not nil, runs between the
// plan and the first write.
func (h *applyHarness) run(hook func(), args ...string) result {
	h.t.Helper()
	if h.name == "postgres" && hook == nil {
		return runCLI(h.t, h.env, "", append([]string{"apply"}, args...)...)
	}
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: envMap(h.env)}
	seams := applySeams{beforeExecute: hook, open: func(context.Context) (storage.Store, func(), error) {
		return h.st, func() {}, nil
	}}
	code := c.report(named("apply", c.applyWith(h.t.Context(), args, seams)))
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

func (h *applyHarness) mustApply(args ...string) result {
	h.t.Helper()
	r := h.run(nil, args...)
	if r.code != 0 {
		h.t.Fatalf("monban apply %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (h *applyHarness) client(id string) *storage.Client {
	h.t.Helper()
	cl, err := h.st.GetClient(h.t.Context(), id)
	if err != nil {
		h.t.Fatalf("GetClient(%s): %v", id, err)
	}
	return cl
}

func (h *applyHarness) clientIDs() []string {
	h.t.Helper()
	cls, err := h.st.ListClients(h.t.Context())
	if err != nil {
		h.t.Fatal(err)
	}
	var ids []string
	for _, c := range cls {
		ids = append(ids, c.ID)
	}
	return ids
}

func (h *applyHarness) addUsers(names ...string) {
	h.t.Helper()
	t0 := time.Now().UTC().Truncate(time.Microsecond)
	for _, n := range names {
		if err := h.st.CreateUser(h.t.Context(), &storage.User{ID: "id-" + n, Username: n, CreatedAt: t0, UpdatedAt: t0}); err != nil {
			h.t.Fatal(err)
		}
	}
}

const applyShopSecret = "shop-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

// shopConfig is a configuration with a client whose secret comes from a
// file, a service account that gets a generated secret, and a group.
func shopConfig(secretPath, redirect string) string {
	return `clients:
  - id: shop
    name: Shop
    redirect_uris: [` + redirect + `]
    allowed_groups: [staff]
    claim_mappings:
      - {claim: dept, attribute: department}
    access_token_ttl: 2m
    secret_file: ` + secretPath + `
service_accounts:
  - id: ci
    name: CI pipeline
    scopes: [admin:read, admin:write]
groups:
  - name: staff
    description: Shop staff
    members: [alice, bob]
`
}

var generatedSecretRE = regexp.MustCompile(`Client secret of "ci" \(generated; shown only this once[^:]*\): (\S+)`)

// TestApplyTwice: the first apply creates everything, prints only the
// secret it generated, audits each object as "apply"; the second plans
// nothing.
func TestApplyTwice(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		h.addUsers("alice", "bob")
		secret := h.file("shop.secret", applyShopSecret+"\n")
		cfg := h.file("monban.yaml", shopConfig(secret, "https://shop.example/cb"))

		r := h.mustApply("-f", cfg)
		for _, want := range []string{"Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.",
			`+ group "staff"`, `+ client "shop"`, `+ client "ci"`, "Applied: 3 created"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout+r.stderr, applyShopSecret) {
			t.Errorf("apply printed a secret it did not generate:\n%s", r.stdout)
		}
		m := generatedSecretRE.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no generated secret for ci in:\n%s", r.stdout)
		}
		if got := h.client("ci"); got.SecretHash != storage.HashToken(m[1]) || !got.Managed ||
			strings.Join(got.GrantTypes, ",") != "client_credentials" || strings.Join(got.Scopes, " ") != "admin:read admin:write" {
			t.Errorf("service account as stored: %+v", got)
		}
		shop := h.client("shop")
		if shop.SecretHash != storage.HashToken(applyShopSecret) || shop.AccessTokenTTL != 2*time.Minute ||
			len(shop.ClaimMappings) != 1 || shop.ClaimMappings[0].Scope != "profile" {
			t.Errorf("shop as stored: %+v", shop)
		}
		g, err := h.st.GetGroupByName(t.Context(), "staff")
		if err != nil || !g.Managed || g.Description != "Shop staff" {
			t.Errorf("group as stored: %+v, %v", g, err)
		}
		entries, err := h.st.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 {
			t.Errorf("%d audit entries, want 3", len(entries))
		}
		for _, e := range entries {
			if e.Actor != "apply" {
				t.Errorf("audit entry %s by %q, want apply", e.Action, e.Actor)
			}
		}

		r = h.mustApply("-f", cfg)
		if !strings.Contains(r.stdout, "Nothing to change: 3 object(s) match the file.") || strings.Contains(r.stdout, "Client secret") {
			t.Errorf("second apply:\n%s", r.stdout)
		}
		if n, _ := h.st.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10); len(n) != 3 {
			t.Errorf("the second apply wrote %d audit entries", len(n)-3)
		}
	})
}

// TestApplyEditedFile: an edited file plans exactly the change; a new
// secret shows as "(changed)", never its value.
func TestApplyEditedFile(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		h.addUsers("alice", "bob")
		secret := h.file("shop.secret", applyShopSecret)
		h.mustApply("-f", h.file("monban.yaml", shopConfig(secret, "https://shop.example/cb")))

		newSecret := strings.ToUpper(applyShopSecret)
		h.file("shop.secret", newSecret)
		r := h.mustApply("-f", h.file("monban.yaml", shopConfig(secret, "https://shop.example/callback")))
		for _, want := range []string{"Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged.",
			`~ client "shop": redirect_uris, secret (changed)`, `= client "ci"`, `= group "staff"`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, newSecret) || strings.Contains(r.stdout, "Client secret") {
			t.Errorf("apply printed a secret it did not generate:\n%s", r.stdout)
		}
		if shop := h.client("shop"); shop.SecretHash != storage.HashToken(newSecret) || shop.RedirectURIs[0] != "https://shop.example/callback" {
			t.Errorf("shop after the edit: %+v", shop)
		}
	})
}

// TestApplyPrune: managed objects absent from the file are kept without
// --prune and deleted with it; unmanaged ones are never touched, and the
// output says which it left alone.
func TestApplyPrune(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		h.addUsers("alice", "bob")
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		legacy := &storage.Client{ID: "legacy", Name: "Legacy", AuthMethod: storage.AuthMethodNone, ApplicationType: storage.ApplicationWeb,
			RedirectURIs: []string{"https://legacy.example/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"},
			CreatedAt: t0, UpdatedAt: t0}
		if err := h.st.CreateClient(t.Context(), legacy); err != nil {
			t.Fatal(err)
		}
		secret := h.file("shop.secret", applyShopSecret)
		h.mustApply("-f", h.file("monban.yaml", shopConfig(secret, "https://shop.example/cb")))

		only := h.file("only-ci.yaml", "service_accounts:\n  - id: ci\n    name: CI pipeline\n    scopes: [admin:read, admin:write]\n")
		r := h.mustApply("-f", only)
		if !strings.Contains(r.stdout, `Managed by apply but not in the file (run with --prune to delete them): client "shop", group "staff"`) ||
			!strings.Contains(r.stdout, `Left alone (not managed by apply): client "legacy"`) {
			t.Errorf("without --prune:\n%s", r.stdout)
		}
		if got := strings.Join(h.clientIDs(), ","); got != "ci,legacy,shop" {
			t.Errorf("clients after apply without --prune: %s", got)
		}

		r = h.mustApply("-f", only, "--prune")
		for _, want := range []string{`- client "shop"`, `- group "staff"`, "Applied: 0 created, 0 updated, 2 deleted.",
			`Left alone (not managed by apply): client "legacy"`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if got := strings.Join(h.clientIDs(), ","); got != "ci,legacy" {
			t.Errorf("clients after --prune: %s", got)
		}
		if _, err := h.st.GetGroupByName(t.Context(), "staff"); err == nil {
			t.Error("the managed group survived --prune")
		}
	})
}

// TestApplyDryRun: --dry-run prints the plan and writes nothing, not
// even an audit entry, and prints no secret (none was made).
func TestApplyDryRun(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		h.addUsers("alice", "bob")
		secret := h.file("shop.secret", applyShopSecret)
		r := h.mustApply("-f", h.file("monban.yaml", shopConfig(secret, "https://shop.example/cb")), "--dry-run")
		if !strings.Contains(r.stdout, "Plan: 3 to create") || !strings.Contains(r.stdout, "Dry run: nothing was changed.") ||
			strings.Contains(r.stdout, "Client secret") {
			t.Errorf("dry run:\n%s", r.stdout)
		}
		if ids := h.clientIDs(); len(ids) != 0 {
			t.Errorf("dry run created clients %q", ids)
		}
		if _, err := h.st.GetGroupByName(t.Context(), "staff"); err == nil {
			t.Error("dry run created the group")
		}
		if n, _ := h.st.ListAudit(t.Context(), storage.AuditFilter{}, 0, 10); len(n) != 0 {
			t.Errorf("dry run wrote %d audit entries", len(n))
		}
	})
}

// TestApplyConcurrentChange: a client changed by someone else between
// the plan and the write (as the admin API would) makes apply fail with
// a message naming it, and the other change is kept.
func TestApplyConcurrentChange(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		h.addUsers("alice", "bob")
		secret := h.file("shop.secret", applyShopSecret)
		h.mustApply("-f", h.file("monban.yaml", shopConfig(secret, "https://shop.example/cb")))

		edited := h.file("monban.yaml", shopConfig(secret, "https://shop.example/new"))
		r := h.run(func() {
			if _, err := h.st.UpdateClient(t.Context(), "shop", func(c *storage.Client) error {
				c.Name = "Renamed through the API"
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}, "-f", edited)
		if r.code != 1 || !strings.Contains(r.stderr, `client "shop" was changed by someone else after apply read it`) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Stopped after 0 of 1 changes.") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
		shop := h.client("shop")
		if shop.Name != "Renamed through the API" || shop.RedirectURIs[0] != "https://shop.example/cb" {
			t.Errorf("apply overwrote the concurrent change: %+v", shop)
		}
		// Run again: the plan now sees the other change and reverts the name.
		r = h.mustApply("-f", edited)
		if !strings.Contains(r.stdout, `~ client "shop": name, redirect_uris`) {
			t.Errorf("apply after the conflict:\n%s", r.stdout)
		}
	})
}

// TestApplyAdopt: an unmanaged client the file declares is refused
// without --adopt (nothing written) and marked managed with it.
func TestApplyAdopt(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		t0 := time.Now().UTC().Truncate(time.Microsecond)
		if err := h.st.CreateClient(t.Context(), &storage.Client{ID: "ci", Name: "CI pipeline", AuthMethod: storage.AuthMethodBasic,
			ApplicationType: storage.ApplicationWeb, GrantTypes: []string{"client_credentials"}, Scopes: []string{"admin:read"},
			SecretHash: storage.HashToken("old"), CreatedAt: t0, UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		cfg := h.file("ci.yaml", "service_accounts:\n  - id: ci\n    name: CI pipeline\n    scopes: [admin:read, admin:write]\n")
		r := h.run(nil, "-f", cfg)
		if r.code != 1 || !strings.Contains(r.stderr, `service account "ci": client "ci" exists but is not managed by apply`) {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
		if h.client("ci").Managed {
			t.Error("a refused apply marked the client managed")
		}
		r = h.mustApply("-f", cfg, "--adopt")
		if !strings.Contains(r.stdout, `~ client "ci": managed (adopted), scopes`) || strings.Contains(r.stdout, "Client secret") {
			t.Errorf("adopt:\n%s", r.stdout)
		}
		if cl := h.client("ci"); !cl.Managed || cl.SecretHash != storage.HashToken("old") {
			t.Errorf("adopted client: %+v", cl)
		}
	})
}

// TestApplyBadFile: a file with a mistake is refused as a whole, each
// problem named by line and key, and nothing is written, not even the
// valid objects before the mistake.
func TestApplyBadFile(t *testing.T) {
	group := "groups:\n  - name: staff\n"
	tests := []struct {
		name, file string
		want       []string
	}{
		{"unknown key", group + "clients:\n  - id: a\n    name: A\n    redirect_uri: https://a.example/cb\n",
			[]string{`line 6: clients[0]: unknown key "redirect_uri"`}},
		{"wrong type", group + "clients:\n  - id: a\n    name: A\n    redirect_uris: https://a.example/cb\n",
			[]string{`line 6: clients[0].redirect_uris: `, `is not a list of strings`}},
		{"invalid redirect URI", group + "clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://a.example/cb#x\"]\n",
			[]string{`line 4: client "a": redirect_uris: redirect URI "https://a.example/cb#x" must not contain a fragment`}},
		{"unknown member", group + "    members: [nobody]\n", []string{`line 2: group "staff": members: user "nobody" does not exist`}},
	}
	applyStores(t, func(t *testing.T, h *applyHarness) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := h.run(nil, "-f", h.file("bad.yaml", tc.file))
				if r.code != 1 {
					t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
				}
				for _, w := range append(tc.want, "nothing was changed") {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
					}
				}
				if _, err := h.st.GetGroupByName(t.Context(), "staff"); err == nil {
					t.Error("a refused file created its valid group")
				}
			})
		}
	})
}

// TestApplyJSON: --output json carries the plan, what was done and the
// generated secrets; "-f -" reads standard input.
func TestApplyJSON(t *testing.T) {
	applyStores(t, func(t *testing.T, h *applyHarness) {
		cfg := h.file("ci.yaml", "service_accounts:\n  - id: ci\n    name: CI\n    scopes: [admin:read]\nconnectors:\n  - type: github\n")
		r := h.mustApply("-f", cfg, "--output", "json")
		var out struct {
			Plan struct {
				Changes []struct{ Action, Kind, Name string }
				Notes   []string
			}
			Done    []struct{ Action, Name string }
			Secrets []struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			} `json:"generated_secrets"`
		}
		decodeJSON(t, r.stdout, &out)
		if len(out.Plan.Changes) != 1 || out.Plan.Changes[0].Action != "create" || len(out.Done) != 1 ||
			len(out.Secrets) != 1 || out.Secrets[0].ClientID != "ci" || len(out.Plan.Notes) != 1 {
			t.Fatalf("JSON output: %s", r.stdout)
		}
		if h.client("ci").SecretHash != storage.HashToken(out.Secrets[0].ClientSecret) {
			t.Error("the printed secret is not the stored one")
		}
	})
}
