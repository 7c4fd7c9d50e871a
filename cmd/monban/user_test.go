package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
)

// userJSONKeys are the keys of a user in --output json, per the CLI contract.
var userJSONKeys = []string{"admin", "created_at", "disabled", "email", "email_verified", "id", "name", "username"}

func TestUserAddAndList(t *testing.T) {
	env, st := dbEnv(t)
	r := mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--email", "alice@example.com",
		"--name", "Alice Liddell", "--admin", "--password-stdin", "--output", "json")
	var added map[string]any
	decodeJSON(t, r.stdout, &added)
	if got := jsonKeys(t, added); !reflect.DeepEqual(got, userJSONKeys) {
		t.Errorf("JSON keys = %q, want %q", got, userJSONKeys)
	}
	mustRun(t, env, "hunter2 is not a passphrase\n", "user", "add", "--username", "bob", "--password-stdin")

	u, err := st.GetUserByUsername(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if added["id"] != u.ID || u.Email != "alice@example.com" || u.Name != "Alice Liddell" || !u.Admin || u.Disabled {
		t.Errorf("stored user = %+v, JSON = %v", u, added)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("PasswordHash = %q, want an argon2id PHC string", u.PasswordHash)
	}
	checkPassword(t, u.PasswordHash, "correct horse battery")

	list := mustRun(t, env, "", "user", "list").stdout
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "USERNAME") || !strings.HasPrefix(lines[1], "alice ") || !strings.HasPrefix(lines[2], "bob ") {
		t.Errorf("user list:\n%s", list)
	}
	var listed []map[string]any
	jsonOut := mustRun(t, env, "", "user", "list", "--output", "json").stdout
	decodeJSON(t, jsonOut, &listed)
	if len(listed) != 2 || listed[0]["username"] != "alice" || listed[1]["username"] != "bob" || listed[1]["admin"] != false {
		t.Errorf("user list JSON = %v", listed)
	}
	for _, out := range []string{r.stdout, list, jsonOut} {
		if strings.Contains(out, u.PasswordHash) || strings.Contains(out, "argon2") {
			t.Errorf("output reveals the password hash:\n%s", out)
		}
	}

	text := mustRun(t, env, "another password\n", "user", "add", "--username", "carol", "--password-stdin").stdout
	if !strings.HasPrefix(text, `Created user "carol" (id `) {
		t.Errorf("text output = %q", text)
	}
}

func TestUserAddErrors(t *testing.T) {
	const okPassword = "purple elephants dance at noon\n"
	env, _ := dbEnv(t)
	mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--password-stdin")
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string // the one stderr line
	}{
		{name: "duplicate", stdin: "another password\n", args: []string{"--username", "alice"}, want: `user "alice" already exists`},
		{name: "empty stdin", stdin: "", args: []string{"--username", "bob"}, want: "no password on stdin"},
		{name: "empty line", stdin: "\n", args: []string{"--username", "bob"}, want: "no password on stdin"},
		{name: "too short", stdin: "1234567\n", args: []string{"--username", "bob"}, want: "--password-stdin: password is too short: it has 7 characters"},
		{name: "too long", stdin: strings.Repeat("x", 1025) + "\n", args: []string{"--username", "bob"}, want: "password is too long: at most 1024 characters"},
		{name: "username too long", stdin: okPassword, args: []string{"--username", strings.Repeat("u", 101)}, want: "--username: username is longer than 100 characters"},
		{name: "username with newline", stdin: okPassword, args: []string{"--username", "bob\nadmin"}, want: `--username: username "bob\nadmin" must not contain white space or control characters`},
		{name: "username with a space", stdin: okPassword, args: []string{"--username", "bob smith"}, want: `--username: username "bob smith" must not contain white space`},
		{name: "name with NUL", stdin: okPassword, args: []string{"--username", "bob", "--name", "Bob\x00"}, want: `--name: name "Bob\x00" must not contain control characters`},
		{name: "password from the e-mail address", stdin: "robert.tables2024robert.tables2024\n",
			args: []string{"--username", "bob", "--email", "robert.tables2024@example.com"}, want: "--password-stdin: password is too easy to guess: it is based on the username"},
		{name: "bad email", stdin: okPassword, args: []string{"--username", "bob", "--email", "Bob <bob@example.com>"}, want: `--email: e-mail address "Bob <bob@example.com>" is not valid`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, tc.stdin, append([]string{"user", "add", "--password-stdin"}, tc.args...)...)
			if r.code != 1 {
				t.Errorf("exit code = %d, want 1", r.code)
			}
			want := "monban: user add: " + tc.want
			if !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr = %q, want one line starting %q", r.stderr, want)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}

// addSession gives the user a live SSO session with a refresh token issued
// from it, and returns their IDs (session ID, refresh token hash).
func addSession(t *testing.T, st storage.Store, env map[string]string, userID string) (string, string) {
	t.Helper()
	if _, err := st.GetClient(t.Context(), "web1"); err != nil {
		mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web", "--redirect-uri", "https://a.example/cb")
	}
	now := time.Now().UTC().Truncate(time.Second)
	s := &storage.Session{ID: storage.NewID(), TokenHash: storage.HashToken(storage.NewToken()), UserID: userID,
		AuthTime: now, AMR: []string{"pwd"}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.CreateSession(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	rt := &storage.RefreshToken{ID: storage.NewID(), TokenHash: storage.HashToken(storage.NewToken()), FamilyID: storage.NewID(),
		ClientID: "web1", UserID: userID, SessionID: s.ID, Scopes: []string{"openid"}, AuthTime: now, AMR: []string{"pwd"},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour)}
	if err := st.CreateRefreshToken(t.Context(), rt); err != nil {
		t.Fatal(err)
	}
	return s.ID, rt.TokenHash
}

// checkSignedOut fails unless the session and the refresh token are revoked.
func checkSignedOut(t *testing.T, st storage.Store, sessionID, rtHash string) {
	t.Helper()
	s, err := st.GetSession(t.Context(), sessionID)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevokedAt.IsZero() {
		t.Error("session not revoked")
	}
	rt, err := st.GetRefreshToken(t.Context(), rtHash)
	if err != nil {
		t.Fatal(err)
	}
	if rt.RevokedAt.IsZero() {
		t.Error("refresh token not revoked")
	}
}

func TestUserPasswd(t *testing.T) {
	env, st := dbEnv(t)
	mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--password-stdin")
	before, _ := st.GetUserByUsername(t.Context(), "alice")
	sid, rt := addSession(t, st, env, before.ID)

	// CRLF line ending (a Windows pipe) is stripped; flags may follow the name.
	r := mustRun(t, env, "new password 42\r\n", "user", "passwd", "alice", "--password-stdin")
	if r.stdout != "Changed the password of \"alice\"; signed out 1 session(s).\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	after, _ := st.GetUserByUsername(t.Context(), "alice")
	if after.PasswordHash == before.PasswordHash {
		t.Error("password hash unchanged")
	}
	checkPassword(t, after.PasswordHash, "new password 42")
	checkSignedOut(t, st, sid, rt)

	for _, tc := range []struct {
		name, stdin string
		args        []string
		code        int
		want        string
	}{
		{name: "unknown user", stdin: "new password 42\n", args: []string{"nobody", "--password-stdin"}, code: 1, want: `monban: user passwd: user "nobody" not found`},
		{name: "short password", stdin: "short\n", args: []string{"alice", "--password-stdin"}, code: 1, want: "monban: user passwd: --password-stdin: password is too short"},
		{name: "without --password-stdin", stdin: "new password 42\n", args: []string{"alice"}, code: 2, want: "monban: user passwd: --password-stdin is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, tc.stdin, append([]string{"user", "passwd"}, tc.args...)...)
			if r.code != tc.code || !strings.HasPrefix(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestUserDisableAndGrantAdmin(t *testing.T) {
	env, st := dbEnv(t)
	mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--password-stdin")
	u, _ := st.GetUserByUsername(t.Context(), "alice")
	sid, rt := addSession(t, st, env, u.ID)

	if r := mustRun(t, env, "", "user", "disable", "alice"); r.stdout != "Disabled user \"alice\"; signed out 1 session(s).\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	u, _ = st.GetUserByUsername(t.Context(), "alice")
	if !u.Disabled || u.Admin {
		t.Errorf("after disable: Disabled=%v Admin=%v", u.Disabled, u.Admin)
	}
	checkSignedOut(t, st, sid, rt)
	// Disabling again is harmless.
	mustRun(t, env, "", "user", "disable", "alice")

	if r := mustRun(t, env, "", "user", "grant-admin", "alice"); r.stdout != "User \"alice\" is now an admin.\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	u, _ = st.GetUserByUsername(t.Context(), "alice")
	if !u.Admin || !u.Disabled {
		t.Errorf("after grant-admin: Admin=%v Disabled=%v", u.Admin, u.Disabled)
	}
	var listed []map[string]any
	decodeJSON(t, mustRun(t, env, "", "user", "list", "--output", "json").stdout, &listed)
	if len(listed) != 1 || listed[0]["disabled"] != true || listed[0]["admin"] != true {
		t.Errorf("list JSON = %v", listed)
	}
	for _, sub := range []string{"disable", "grant-admin"} {
		r := runCLI(t, env, "", "user", sub, "nobody")
		if want := "monban: user " + sub + ": user \"nobody\" not found\n"; r.code != 1 || r.stderr != want {
			t.Errorf("user %s nobody: exit %d, stderr %q", sub, r.code, r.stderr)
		}
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct {
		name    string
		in      io.Reader
		want    string
		wantErr string
	}{
		{name: "newline stripped", in: strings.NewReader("password1\n"), want: "password1"},
		{name: "CRLF stripped", in: strings.NewReader("password1\r\n"), want: "password1"},
		{name: "no newline", in: strings.NewReader("password1"), want: "password1"},
		{name: "only the first line", in: strings.NewReader("password1\nsecond line\n"), want: "password1"},
		{name: "spaces kept", in: strings.NewReader("  pass word  \n"), want: "  pass word  "},
		{name: "counts characters, not bytes", in: strings.NewReader("пароль12\n"), want: "пароль12"},
		{name: "exactly 1024", in: strings.NewReader(strings.Repeat("é", 1024) + "\n"), want: strings.Repeat("é", 1024)},
		{name: "1025 characters", in: strings.NewReader(strings.Repeat("é", 1025) + "\n"), wantErr: "too long"},
		{name: "huge input", in: strings.NewReader(strings.Repeat("x", 1<<20)), wantErr: "too long"},
		{name: "seven characters are read (the policy refuses them)", in: strings.NewReader("1234567\n"), want: "1234567"},
		{name: "empty", in: strings.NewReader(""), wantErr: "no password on stdin"},
		{name: "invalid UTF-8", in: strings.NewReader("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\n"), wantErr: "not valid UTF-8"},
		{name: "read error", in: iotest.ErrReader(errors.New("broken pipe")), wantErr: "read password from stdin: broken pipe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readPassword(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("readPassword = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// checkPassword fails unless hash is an argon2id hash of pw.
func checkPassword(t *testing.T, hash, pw string) {
	t.Helper()
	ok, _, err := password.NewHasher(password.DefaultParams, 1).Verify(pw, hash)
	if err != nil || !ok {
		t.Errorf("stored hash does not verify %q: ok=%v err=%v", pw, ok, err)
	}
}
