package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func TestMailFailed(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	if r := mustRun(t, env, "", "mail", "failed"); !strings.Contains(r.stdout, "No failed mail") {
		t.Fatalf("empty list: %q", r.stdout)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := st.MailOutbox().Enqueue(ctx, &storage.Mail{Queued: storage.Queued{ID: "m1", CreatedAt: now, NextAttemptAt: now},
		Kind: "password_reset", To: "alice@example.com", Subject: "Reset", Text: "secret link"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.MailOutbox().Claim(ctx, now, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := st.MailOutbox().Fail(ctx, "m1", claimed[0].Attempts, now, "550 mailbox unavailable"); err != nil {
		t.Fatal(err)
	}
	js := mustRun(t, env, "", "mail", "failed", "--output", "json").stdout
	var out []map[string]any
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0]["to"] != "alice@example.com" || out[0]["last_error"] != "550 mailbox unavailable" ||
		strings.Contains(js, "secret link") {
		t.Fatalf("json = %s", js)
	}
	if text := mustRun(t, env, "", "mail", "failed").stdout; !strings.Contains(text, "550 mailbox unavailable") {
		t.Fatalf("text = %q", text)
	}
}
