package userpolicy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

func fields(fe storage.FieldErrors) []string {
	var out []string
	for _, e := range fe {
		out = append(out, e.Field)
	}
	return out
}

// TestValidateUser: each attribute's rule, and every problem filed under
// its field in neutral words (no flag, no form label).
func TestValidateUser(t *testing.T) {
	ok := func() *storage.User {
		return &storage.User{Username: "alice", Email: "alice@example.com", Name: "Alice Liddell"}
	}
	tests := []struct {
		name   string
		change func(*storage.User)
		want   []string // fields with a problem, in order
	}{
		{"valid", func(*storage.User) {}, nil},
		{"unicode username", func(u *storage.User) { u.Username = "アリス" }, nil},
		{"username of 100", func(u *storage.User) { u.Username = strings.Repeat("a", 100) }, nil},
		{"no e-mail is fine", func(u *storage.User) { u.Email = "" }, nil},
		{"username required", func(u *storage.User) { u.Username = "" }, []string{userpolicy.FieldUsername}},
		{"username of 101", func(u *storage.User) { u.Username = strings.Repeat("a", 101) }, []string{userpolicy.FieldUsername}},
		{"username with a space", func(u *storage.User) { u.Username = "alice liddell" }, []string{userpolicy.FieldUsername}},
		{"username padded", func(u *storage.User) { u.Username = " alice" }, []string{userpolicy.FieldUsername}},
		{"username with NUL", func(u *storage.User) { u.Username = "ali\x00ce" }, []string{userpolicy.FieldUsername}},
		{"username not UTF-8", func(u *storage.User) { u.Username = "ali\xffce" }, []string{userpolicy.FieldUsername}},
		{"name with newline", func(u *storage.User) { u.Name = "Alice\nLiddell" }, []string{userpolicy.FieldName}},
		{"name with NUL", func(u *storage.User) { u.Name = "Alice\x00" }, []string{userpolicy.FieldName}},
		{"name not UTF-8", func(u *storage.User) { u.Name = "\xc3" }, []string{userpolicy.FieldName}},
		{"name of 201", func(u *storage.User) { u.Name = strings.Repeat("n", 201) }, []string{userpolicy.FieldName}},
		{"given name with DEL", func(u *storage.User) { u.GivenName = "A\x7f" }, []string{userpolicy.FieldGivenName}},
		{"family name with NUL", func(u *storage.User) { u.FamilyName = "L\x00" }, []string{userpolicy.FieldFamilyName}},
		{"e-mail without @", func(u *storage.User) { u.Email = "alice" }, []string{userpolicy.FieldEmail}},
		{"e-mail with display name", func(u *storage.User) { u.Email = "Alice <alice@example.com>" }, []string{userpolicy.FieldEmail}},
		{"e-mail with NUL", func(u *storage.User) { u.Email = "alice\x00@example.com" }, []string{userpolicy.FieldEmail}},
		{"e-mail too long", func(u *storage.User) { u.Email = strings.Repeat("a", 250) + "@example.com" }, []string{userpolicy.FieldEmail}},
		{"every problem", func(u *storage.User) { u.Username, u.Name, u.Email = "a b", "\x01", "x" },
			[]string{userpolicy.FieldUsername, userpolicy.FieldName, userpolicy.FieldEmail}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := ok()
			tc.change(u)
			got := userpolicy.ValidateUser(u)
			if !reflect.DeepEqual(fields(got), tc.want) {
				t.Fatalf("ValidateUser = %v, want problems with %v", got, tc.want)
			}
			for _, e := range got {
				if strings.Contains(e.Message, "--") || e.Message == "" || strings.ContainsFunc(e.Message, func(r rune) bool { return r < ' ' }) {
					t.Errorf("message %q names a flag, is empty or carries a control character", e.Message)
				}
			}
		})
	}
}

// TestCheckPassword: the password policy with the user's own words as
// context (checklist S13), so both doors refuse a password built from the
// username, the e-mail address or the name.
func TestCheckPassword(t *testing.T) {
	u := &storage.User{Username: "wonderland", Email: "alice.liddell@example.com", Name: "Lewis Carroll"}
	tests := []struct {
		name, pw string
		wantErr  string
	}{
		{"passphrase", "purple elephants dance at noon", ""},
		{"spaces and emoji", "tea party 🫖 at the hatter's", ""},
		{"too short", "fourteen chars", "too short"},
		{"blocklisted", "iloveyouiloveyou", "commonly used"},
		{"service name", "monbanmonbanmonban", "based on the username"},
		{"username", "wonderland12345678", "based on the username"},
		{"e-mail local part", "alice.liddell2024alice.liddell2024", "based on the username"},
		{"whole e-mail", "alice.liddell@example.com12345", "based on the username"},
		{"name", "lewis carroll123456", "based on the username"},
		{"control character", "purple elephants\tdance at noon", "control characters"},
		{"NUL", "purple elephants\x00dance at noon", "control characters"},
		{"not UTF-8", "purple elephants \xff dance at noon", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := userpolicy.CheckPassword(tc.pw, u)
			switch {
			case tc.wantErr == "" && len(got) > 0:
				t.Fatalf("CheckPassword = %v, want acceptance", got)
			case tc.wantErr != "" && (len(got) != 1 || got[0].Field != userpolicy.FieldPassword || !strings.Contains(got[0].Message, tc.wantErr)):
				t.Fatalf("CheckPassword = %v, want one password problem saying %q", got, tc.wantErr)
			}
		})
	}
}

func TestCheckAccessChange(t *testing.T) {
	tests := []struct {
		name, actor, target string
		refused             bool
	}{
		{"another user", "admin-1", "user-2", false},
		{"oneself", "admin-1", "admin-1", true},
		{"the CLI (no actor)", "", "user-2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := userpolicy.CheckAccessChange(tc.actor, tc.target); (len(got) > 0) != tc.refused {
				t.Errorf("CheckAccessChange(%q, %q) = %v, want refused %v", tc.actor, tc.target, got, tc.refused)
			}
		})
	}
}
