package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// TestUserFactorsAndReset: "user factors" shows a person's factors,
// "user reset-factors" removes them with an audit entry and ends their
// sessions; "client add --require-mfa" and "client update
// --require-mfa=false" set the client's rule.
func TestUserFactorsAndReset(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	mustRun(t, env, "correct horse battery\n", "user", "add", "--username", "alice", "--password-stdin")
	u, _ := st.GetUserByUsername(ctx, "alice")
	sid, rt := addSession(t, st, env, u.ID)
	if err := st.PutTOTP(ctx, &storage.TOTP{UserID: u.ID, Secret: []byte("sealed"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := st.UseTOTPStep(ctx, u.ID, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, []string{"a", "b"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	added := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, c := range []*storage.WebAuthnCredential{
		{ID: []byte("key-1"), Name: "YubiKey", CreatedAt: added},
		{ID: []byte("key-2"), Name: "Phone", BackupEligible: true, CreatedAt: added},
	} {
		c.UserID, c.PublicKey, c.AAGUID = u.ID, []byte("cose"), make([]byte, 16)
		if err := st.AddWebAuthnCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	used := added.Add(time.Hour)
	if err := st.UseWebAuthnCredential(ctx, []byte("key-2"), 0, true, used); err != nil {
		t.Fatal(err)
	}
	var got factorsJSON
	decodeJSON(t, mustRun(t, env, "", "user", "factors", "alice", "--output", "json").stdout, &got)
	want := factorsJSON{Username: "alice", TOTP: "confirmed", RecoveryCodesLeft: 2, Passkeys: []passkeyJSON{
		{Name: "YubiKey", Created: added}, {Name: "Phone", Created: added, LastUsed: &used, Synced: true}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("factors = %+v, want %+v", got, want)
	}
	text := mustRun(t, env, "", "user", "factors", "alice").stdout
	for _, s := range []string{"Passkeys:", "YubiKey", "never used", "device-bound", "Phone", "last used 2026-03-01T11:00:00Z", "synced"} {
		if !strings.Contains(text, s) {
			t.Errorf("user factors lacks %q:\n%s", s, text)
		}
	}
	if r := mustRun(t, env, "", "user", "reset-factors", "alice"); r.stdout != "Removed the second factors of \"alice\"; signed out 1 session(s).\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	checkSignedOut(t, st, sid, rt)
	decodeJSON(t, mustRun(t, env, "", "user", "factors", "alice", "--output", "json").stdout, &got)
	if got.TOTP != "none" || got.RecoveryCodesLeft != 0 || len(got.Passkeys) != 0 {
		t.Errorf("after reset: %+v", got)
	}
	entries, err := st.ListAudit(ctx, storage.AuditFilter{Actions: []string{storage.ActionFactorReset}}, 0, 10)
	if err != nil || len(entries) != 1 || entries[0].Target != "user:"+u.ID {
		t.Errorf("audit = %v, %v", entries, err)
	}
	if r := runCLI(t, env, "", "user", "reset-factors", "nobody"); r.code == 0 {
		t.Error("reset-factors of an unknown user succeeded")
	}

	mustRun(t, env, "", "client", "add", "--id", "strict", "--name", "Strict", "--redirect-uri", "https://strict.example/cb", "--require-mfa")
	if c, _ := st.GetClient(ctx, "strict"); c == nil || !c.RequireMFA {
		t.Fatalf("client add --require-mfa: %+v", c)
	}
	mustRun(t, env, "", "client", "update", "strict", "--require-mfa=false")
	if c, _ := st.GetClient(ctx, "strict"); c.RequireMFA {
		t.Fatal("client update --require-mfa=false kept the rule")
	}
}
