package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

// carolPassword is the password of the bcrypt hash in
// testdata/import/users.jsonl (as Keycloak or Auth0 would export it).
const carolPassword = "imported from keycloak, carol"

// TestImportBcryptSignIn is issue #15's import "must show": a user
// imported with a bcrypt hash signs in with their old password, and the
// hash is then monban's argon2id (checked in the store). Importing the
// file again updates, it does not duplicate.
func TestImportBcryptSignIn(t *testing.T) {
	fx := newPeopleFixture(t)
	for range 2 { // idempotent by username
		r := mustRun(t, fx.env, "", "user", "import", "testdata/import/users.jsonl")
		if r.stdout != "Imported 2 user(s); 0 row(s) in batches with errors were not imported.\n" {
			t.Errorf("stdout %q", r.stdout)
		}
	}
	users, err := fx.store.ListUsers(t.Context())
	if err != nil || len(users) != 3 { // alice, carol, dave
		t.Fatalf("users after importing twice: %d (%v)", len(users), err)
	}
	dave, _ := fx.store.GetUserByUsername(t.Context(), "dave")
	if dave.Locale != "en-US" || dave.Attributes["roles"].Claim().([]string)[1] != "b" {
		t.Errorf("dave as imported: %+v", dave)
	}

	br := newBrowser(t, fx.p.URL)
	f := fx.a.start()
	page, body := br.visit(f.URL)
	resp, _ := br.submit(page, body, map[string]string{"username": "carol", "password": carolPassword})
	q := fx.a.callbackParams(resp, f, fx.p.URL)
	tok, err := fx.a.exchange(q.Get("code"), f)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.claims["email_verified"] != true {
		t.Errorf("email_verified of the imported user: %v", tok.claims["email_verified"])
	}
	carol, err := fx.store.GetUserByUsername(t.Context(), "carol")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(carol.PasswordHash, "$argon2id$") {
		t.Errorf("hash after sign-in %q, want argon2id", carol.PasswordHash[:10])
	}

	// Export: JSON Lines, no hashes unless asked.
	out := mustRun(t, fx.env, "", "user", "export").stdout
	if strings.Contains(out, "password_hash") || strings.Count(out, "\n") != 3 {
		t.Errorf("export without hashes:\n%s", out)
	}
	sc := bufio.NewScanner(strings.NewReader(mustRun(t, fx.env, "", "user", "export", "--include-password-hashes").stdout))
	for sc.Scan() {
		var u userJSON
		if err := json.Unmarshal(sc.Bytes(), &u); err != nil || u.PasswordHash == "" && u.Username != "dave" {
			t.Errorf("export with hashes: %s (%v)", sc.Text(), err)
		}
	}
}

// TestImportBadRow: a row that breaks the rules is named by its line and
// field, and nothing of its batch is imported; the other batch is.
func TestImportBadRow(t *testing.T) {
	env, st := dbEnv(t)
	r := runCLI(t, env, "", "user", "import", "--batch-size", "2", "testdata/import/bad_row.csv")
	if r.code == 0 {
		t.Fatalf("import with a bad row exited 0")
	}
	if !strings.Contains(r.stderr, "line 5: birthdate: birthdate \"31/12/1990\" is not YYYY or YYYY-MM-DD") {
		t.Errorf("stderr does not name the row and field:\n%s", r.stderr)
	}
	if r.stdout != "Imported 2 user(s); 2 row(s) in batches with errors were not imported.\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	for name, want := range map[string]bool{"erin": true, "frank": true, "gina": false, "hank": false} {
		_, err := st.GetUserByUsername(t.Context(), name)
		if got := err == nil; got != want {
			t.Errorf("user %s imported = %v, want %v (%v)", name, got, want, err)
		}
	}
	erin, _ := st.GetUserByUsername(t.Context(), "erin")
	if erin == nil || !erin.EmailVerified || erin.Birthdate != "1990-01-01" || erin.PasswordHash != "" {
		t.Errorf("erin: %+v", erin)
	}
}
