package main

import (
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
	var got factorsJSON
	decodeJSON(t, mustRun(t, env, "", "user", "factors", "alice", "--output", "json").stdout, &got)
	if got != (factorsJSON{Username: "alice", TOTP: "confirmed", RecoveryCodesLeft: 2}) {
		t.Errorf("factors = %+v", got)
	}
	if r := mustRun(t, env, "", "user", "reset-factors", "alice"); r.stdout != "Removed the second factors of \"alice\"; signed out 1 session(s).\n" {
		t.Errorf("stdout = %q", r.stdout)
	}
	checkSignedOut(t, st, sid, rt)
	decodeJSON(t, mustRun(t, env, "", "user", "factors", "alice", "--output", "json").stdout, &got)
	if got.TOTP != "none" || got.RecoveryCodesLeft != 0 {
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
