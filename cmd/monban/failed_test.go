package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// giveUp enqueues item, claims it and gives it up with reason.
func giveUp[T storage.QueueItem](t *testing.T, q storage.Queue[T], item T, reason string) {
	t.Helper()
	ctx, now := t.Context(), item.State().NextAttemptAt
	if err := q.Enqueue(ctx, item); err != nil {
		t.Fatal(err)
	}
	claimed, err := q.Claim(ctx, now, time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if err := q.Fail(ctx, item.State().ID, claimed[0].State().Attempts, now, reason); err != nil {
		t.Fatal(err)
	}
}

// TestFailedListings: "mail failed" and "logout-deliveries failed" say
// when nothing was given up, then list a given-up item with its reason as
// a table and as JSON (a message without its bodies).
func TestFailedListings(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	due := storage.Queued{ID: "x1", CreatedAt: now, NextAttemptAt: now}
	for _, tc := range []struct {
		name, group, none, reason string
		fail                      func(t *testing.T, env map[string]string, st storage.Store, reason string)
		want                      map[string]any // fields of the JSON item
	}{
		{name: "mail", group: "mail", none: "No failed mail", reason: "550 mailbox unavailable",
			fail: func(t *testing.T, _ map[string]string, st storage.Store, reason string) {
				giveUp(t, st.MailOutbox(), &storage.Mail{Queued: due, Kind: "password_reset", To: "alice@example.com",
					Subject: "Reset", Text: "secret link"}, reason)
			},
			want: map[string]any{"to": "alice@example.com", "kind": "password_reset"}},
		{name: "logout deliveries", group: "logout-deliveries", none: "No failed", reason: "connection refused",
			fail: func(t *testing.T, env map[string]string, st storage.Store, reason string) {
				mustRun(t, env, "", "client", "add", "--id", "web1", "--name", "Web", "--redirect-uri", "https://a.example/cb",
					"--backchannel-logout-uri", "https://a.example/bcl")
				giveUp(t, st.LogoutOutbox(), &storage.LogoutDelivery{Queued: due, ClientID: "web1", Subject: "u1",
					SessionID: "s1"}, reason)
			},
			want: map[string]any{"client_id": "web1", "sid": "s1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, st := dbEnv(t)
			if r := mustRun(t, env, "", tc.group, "failed"); !strings.Contains(r.stdout, tc.none) {
				t.Fatalf("empty list: %q", r.stdout)
			}
			tc.fail(t, env, st, tc.reason)
			js := mustRun(t, env, "", tc.group, "failed", "--output", "json").stdout
			var out []map[string]any
			if err := json.Unmarshal([]byte(js), &out); err != nil {
				t.Fatal(err)
			}
			tc.want["id"], tc.want["last_error"] = "x1", tc.reason
			for k, v := range tc.want {
				if len(out) != 1 || out[0][k] != v {
					t.Fatalf("json = %s, want %s = %v", js, k, v)
				}
			}
			if strings.Contains(js, "secret link") {
				t.Errorf("json shows a body: %s", js)
			}
			if text := mustRun(t, env, "", tc.group, "failed").stdout; !strings.Contains(text, tc.reason) {
				t.Fatalf("text = %q", text)
			}
		})
	}
}
