package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func TestLogoutDeliveriesFailed(t *testing.T) {
	env, st := dbEnv(t)
	ctx := t.Context()
	if r := mustRun(t, env, "", "logout-deliveries", "failed"); !strings.Contains(r.stdout, "No failed") {
		t.Fatalf("empty list: %q", r.stdout)
	}
	mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web", "--redirect-uri", "https://a.example/cb",
		"--backchannel-logout-uri", "https://a.example/bcl")
	now := time.Now().UTC().Truncate(time.Second)
	u := &storage.User{ID: "u1", Username: "alice", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	d := &storage.LogoutDelivery{Queued: storage.Queued{ID: "d1", CreatedAt: now, NextAttemptAt: now},
		ClientID: "web1", Subject: "u1", SessionID: "s1"}
	if err := st.LogoutOutbox().Enqueue(ctx, d); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.LogoutOutbox().Claim(ctx, now, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := st.LogoutOutbox().Fail(ctx, "d1", claimed[0].Attempts, now, "connection refused"); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "", "logout-deliveries", "failed", "--output", "json").stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0]["client_id"] != "web1" || out[0]["sid"] != "s1" || out[0]["last_error"] != "connection refused" {
		t.Fatalf("json = %v", out)
	}
	if text := mustRun(t, env, "", "logout-deliveries", "failed").stdout; !strings.Contains(text, "connection refused") {
		t.Fatalf("text = %q", text)
	}
}
