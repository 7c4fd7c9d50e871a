package main

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web"
)

// TestUserRulesAgreeAcrossDoors (issue 12): the same new user, given to
// `monban user add` and to the admin console's form, is accepted by both
// or refused by both, for the same rules — the CLI with userpolicy's
// messages naming its flags, the console with each rule's catalog text. The CLI writes to
// PostgreSQL and the console to a memory store, so each starts empty.
func TestUserRulesAgreeAcrossDoors(t *testing.T) {
	const good = "purple elephants dance at noon"
	tests := []struct {
		name, username, email, fullName, password string
	}{
		{"accepted", "carol", "carol@example.com", "Carol Smith", good},
		{"unicode username accepted", "キャロル", "", "", good},
		{"username with a space", "carol smith", "", "", good},
		{"username with a tab", "carol\tsmith", "", "", good},
		{"name with a control character", "carol", "", "Carol\x01", good},
		{"name not UTF-8", "carol", "", "Carol \xff", good},
		{"username with NUL", "car\x00ol", "", "", good},
		{"e-mail with display name", "carol", "Carol <carol@example.com>", "", good},
		{"password from the username", "carol", "", "", "carol12345678901"},
		{"password from the e-mail", "dora", "carol.smith@example.com", "", "carol.smith2024carol.smith2024"},
		{"password from the name", "dora", "", "Lewis Carroll", "lewis carroll123456"},
		{"blocklisted password", "carol", "", "", "iloveyouiloveyou"},
		{"short password", "carol", "", "", "fourteen chars"},
		{"every problem at once", "a b", "x", "\x02", "short"},
	}
	env, _ := dbEnv(t)
	p := newTestServer(t)
	root := p.addUser(t, "root", "admin password 1")
	if _, err := p.Store.UpdateUser(t.Context(), root.ID, func(u *storage.User) error { u.Admin = true; return nil }); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, p.URL)
	resp, body := b.visit(p.URL + "/admin/users/new")
	b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"})

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := &storage.User{Username: tc.username, Email: tc.email, Name: tc.fullName}
			want := append(userpolicy.ValidateUser(u), userpolicy.CheckPassword(tc.password, u)...)

			args := []string{"user", "add", "--username", tc.username, "--password-stdin"}
			if tc.email != "" {
				args = append(args, "--email", tc.email)
			}
			if tc.fullName != "" {
				args = append(args, "--name", tc.fullName)
			}
			cli := runCLI(t, env, tc.password+"\n", args...)

			resp, body := b.visit(p.URL + "/admin/users/new")
			resp, body = b.submit(resp, body, map[string]string{
				"username": tc.username, "email": tc.email, "name": tc.fullName, "password": tc.password})
			console := html.UnescapeString(body)

			if len(want) == 0 {
				if cli.code != 0 {
					t.Errorf("CLI refused what the policy accepts: %s", cli.stderr)
				}
				if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Request.URL.RawQuery, "created=1") {
					t.Errorf("console refused what the policy accepts: %d %s", resp.StatusCode, resp.Request.URL)
				}
				return
			}
			if cli.code != 1 {
				t.Errorf("CLI exit %d for input the policy refuses", cli.code)
			}
			// A NUL byte or invalid UTF-8 never reaches the console: the edge
			// refuses it first (web.GuardInput) with the bad-input page.
			atEdge := !web.Storable(tc.username + tc.email + tc.fullName + tc.password)
			if atEdge && (resp.StatusCode != http.StatusBadRequest || !strings.Contains(console, "cannot be processed")) {
				t.Errorf("console status %d for unstorable input, want the 400 bad-input page", resp.StatusCode)
			}
			if !atEdge && resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("console status %d for input the policy refuses", resp.StatusCode)
			}
			for _, e := range want {
				flag := userFlagOf[e.Field]
				if !strings.Contains(cli.stderr, flag+": "+e.Message) {
					t.Errorf("CLI stderr %q lacks %q", cli.stderr, flag+": "+e.Message)
				}
				// The console states the same rule (the problem's code) in the
				// page's language, English here (issue 14).
				if shown := web.FieldMessage(t.Context(), e); !atEdge && !strings.Contains(console, shown) {
					t.Errorf("console page lacks %q (%s)", shown, e.Code)
				}
				if strings.Contains(e.Message, "--") {
					t.Errorf("policy message %q names a flag", e.Message)
				}
			}
		})
	}
}
