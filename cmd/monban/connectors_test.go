package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestConnectorsList: the configured connectors are listed as text and
// JSON, never with a secret; a bad entry is reported.
func TestConnectorsList(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(`connectors:
  - id: google
    type: oidc
    name: {en: Google, ja: グーグル}
    issuer: https://accounts.google.com
    client_id: abc
    client_secret: TOPSECRET
    jit: true
  - id: gh
    type: github
    name: GitHub
    client_id: x
    client_secret_file: /run/secrets/gh
  - id: ad
    type: ldap
    name: Corporate account
    jit: true
    timeout: 5s
    ldap:
      url: ldaps://dc1.corp.example.com
      bind_dn: CN=monban,OU=Service Accounts,DC=corp,DC=example,DC=com
      bind_password: TOPSECRET
      user_search_base: OU=People,DC=corp,DC=example,DC=com
      user_filter: (&(objectClass=user)(sAMAccountName=%s))
      username_attr: sAMAccountName
      id_attr: objectGUID
      name_attr: displayName
      group_search_base: OU=Groups,DC=corp,DC=example,DC=com
      group_filter: (&(objectClass=group)(member=%s))
`), 0o600); err != nil {
		t.Fatal(err)
	}
	badLDAP := filepath.Join(dir, "badldap.yaml")
	if err := os.WriteFile(badLDAP, []byte(`connectors:
  - id: ad
    type: ldap
    name: AD
    ldap:
      url: ldap://dc1.corp.example.com
      user_search_base: OU=People,DC=corp,DC=example,DC=com
      user_filter: (sAMAccountName={username})
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("connectors:\n  - id: x\n    type: oidc\n    client_secrett: y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"text", []string{"connectors", "list", "--config", good}, 0, []string{"google", "oidc", "(set)", "file /run/secrets/gh", "https://github.com"}},
		{"json", []string{"connectors", "list", "--config", good, "--output", "json"}, 0, []string{`"id": "google"`, `"client_secret_file": "/run/secrets/gh"`}},
		{"unknown key", []string{"connectors", "list", "--config", bad}, 1, []string{"client_secrett"}},
		{"config check shows them", []string{"config", "check", "--dev", "--config", good}, 0, []string{`connectors: [{"id":"google"`,
			`"id":"ad","type":"ldap"`, `"user_filter":"(\u0026(objectClass=user)(sAMAccountName=%s))"`}},
		{"ldap listed", []string{"connectors", "list", "--config", good}, 0, []string{"ad", "ldap", "ldaps://dc1.corp.example.com"}},
		{"config check reports ldap problems", []string{"config", "check", "--dev", "--config", badLDAP}, 1,
			[]string{"connector ad", "has no %s", "plain LDAP to a remote host"}},
		{"ldap key misspelt", []string{"connectors", "list", "--config", writeFile(t, "typo.yaml",
			"connectors:\n  - id: ad\n    type: ldap\n    name: AD\n    ldap:\n      user_filtre: x\n")}, 1, []string{"user_filtre"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, "", tc.args...)
			out := r.stdout + r.stderr
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.wantCode, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "TOPSECRET") {
				t.Fatalf("a secret was printed:\n%s", out)
			}
		})
	}
}

// TestUserLinks: "user links" lists a person's linked identities,
// "user unlink" removes one with an audit entry.
func TestUserLinks(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--password-stdin")
	u, _ := st.GetUserByUsername(ctx, "alice")
	now := time.Now().UTC()
	if err := st.CreateFederatedIdentity(ctx, &storage.FederatedIdentity{ConnectorID: "github", Subject: "583231",
		UserID: u.ID, Email: "alice@github.example", Groups: []string{"acme"}, CreatedAt: now, LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, env, "", "user", "links", "alice").stdout; !strings.Contains(out, "583231") || !strings.Contains(out, "acme") {
		t.Fatalf("links:\n%s", out)
	}
	if r := runCLI(t, env, "", "user", "unlink", "alice", "github", "nope"); r.code == 0 || !strings.Contains(r.stderr, "no linked identity") {
		t.Fatalf("unlink unknown: %d %s", r.code, r.stderr)
	}
	mustRun(t, env, "", "user", "unlink", "alice", "github", "583231")
	if out := mustRun(t, env, "", "user", "links", "alice", "--output", "json").stdout; strings.TrimSpace(out) != "[]" {
		t.Fatalf("links after unlink: %s", out)
	}
	list, err := st.ListAudit(ctx, storage.AuditFilter{Actions: []string{storage.ActionIdentityUnlinked}}, 0, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("audit %v %v", list, err)
	}
}
