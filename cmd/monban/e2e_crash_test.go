package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestChecklistR8KillDuringAdminChanges covers checklist R8 by killing
// the real binary (SIGKILL: no shutdown, no deferred code) at random
// moments while an administrator registers clients and people sign in,
// several times over, restarting it on the same PostgreSQL database in
// between. After every crash: each registered client has its secret
// hash and redirect URIs and exactly one client.create audit entry, and
// each such entry names a client that exists (audit row iff change
// committed); every session belongs to an existing user; every stored
// code has its PKCE challenge. Where the kill lands is random: the
// deterministic check of the same property is
// TestChecklistR8AdminChangeAndAudit.
func TestChecklistR8KillDuringAdminChanges(t *testing.T) {
	dsn := newPostgresDSN(t)
	env := []string{"MONBAN_DATABASE_URL=" + dsn, "MONBAN_SECRETS=" + testSecret, "MONBAN_LOG_LEVEL=error"}
	runBinary(t, env, "", "migrate", "up")
	runBinary(t, env, "admin password 1\n", "user", "add", "--username", "root", "--admin", "--password-stdin")
	var next atomic.Int64 // client numbers, unique across rounds
	for round := range 3 {
		t.Run(fmt.Sprintf("round-%d", round), func(t *testing.T) {
			addr := freeAddr(t)
			issuer := "http://" + addr
			cmd := exec.Command(monbanBinary(t), "serve", "--listen", addr, "--issuer", issuer, "--management-listen", "off")
			cmd.Env = append(os.Environ(), env...)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
			waitForDiscovery(t, issuer)

			b := newBrowser(t, issuer)
			resp, body := b.visit(issuer + "/admin")
			if resp.Request.URL.Path != "/login" {
				t.Fatalf("/admin: %d at %s: %.500s", resp.StatusCode, resp.Request.URL, body)
			}
			if resp, _ = b.submit(resp, body, map[string]string{"username": "root", "password": "admin password 1"}); resp.Request.URL.Path != "/admin" {
				t.Fatalf("admin sign-in ended at %s", resp.Request.URL)
			}
			// Register clients until the process dies under us.
			done := make(chan int)
			go func() {
				registered := 0
				for {
					n := next.Add(1)
					page, err := b.client.Get(issuer + "/admin/clients/new")
					if err != nil {
						done <- registered
						return
					}
					form, err := io.ReadAll(page.Body)
					page.Body.Close()
					m := csrfField.FindStringSubmatch(string(form))
					if err != nil || m == nil { // the process died while answering
						done <- registered
						return
					}
					fields := url.Values{"csrf_token": {m[1]}}
					fields.Set("type", "web")
					fields.Set("id", fmt.Sprintf("crash-%d", n))
					fields.Set("name", "Crash")
					fields.Set("redirect_uris", "https://crash.example/cb")
					fields.Set("scopes", "openid")
					r, err := b.client.PostForm(issuer+"/admin/clients/new", fields)
					if err != nil {
						done <- registered
						return
					}
					r.Body.Close()
					registered++
				}
			}()
			time.Sleep(time.Duration(150+rand.IntN(250)) * time.Millisecond)
			_ = cmd.Process.Signal(os.Kill)
			<-exited
			if n := <-done; n == 0 {
				t.Fatal("no client was registered before the kill: the round proves nothing")
			}
			checkCrashInvariants(t, dsn)
		})
	}
}

// csrfField finds the console form's CSRF token.
var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// waitForDiscovery waits, bounded, until the provider at issuer answers.
func waitForDiscovery(t *testing.T, issuer string) {
	t.Helper()
	for attempt := 0; attempt < 300; attempt++ {
		if resp, err := http.Get(issuer + "/.well-known/openid-configuration"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no discovery at %s", issuer)
}

// checkCrashInvariants reads the database after a kill, in one
// REPEATABLE READ snapshot: the killed process's backend may still be
// committing its last transaction (the COMMIT was sent before the kill),
// and two separate reads could see its client row missing in the first
// and its audit row present in the second although both committed
// together.
func checkCrashInvariants(t *testing.T, dsn string) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	rows, err := tx.Query(ctx, `SELECT id, secret_hash, coalesce(cardinality(redirect_uris), 0) FROM clients WHERE id LIKE 'crash-%'`)
	if err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	type half struct {
		id, hash string
		uris     int
	}
	var halves []half
	for rows.Next() {
		var h half
		if err := rows.Scan(&h.id, &h.hash, &h.uris); err != nil {
			t.Fatal(err)
		}
		exists[h.id] = true
		halves = append(halves, h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{}
	rows, err = tx.Query(ctx, `SELECT target FROM audit_log WHERE action = 'client.create' AND target LIKE 'client:crash-%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var target string
		if err := rows.Scan(&target); err != nil {
			t.Fatal(err)
		}
		entries[strings.TrimPrefix(target, "client:")]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, h := range halves {
		if h.hash == "" || h.uris != 1 {
			t.Errorf("client %s half-written: secret hash %q, %d redirect URIs", h.id, h.hash, h.uris)
		}
		if entries[h.id] != 1 {
			t.Errorf("client %s has %d client.create audit entries, want 1", h.id, entries[h.id])
		}
	}
	for id := range entries {
		if !exists[id] {
			t.Errorf("audit entry for client %s, which was never stored", id)
		}
	}
	var orphanSessions, codesWithoutChallenge int
	if err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id)),
			(SELECT count(*) FROM auth_requests WHERE code_hash IS NOT NULL AND code_challenge = '')`).
		Scan(&orphanSessions, &codesWithoutChallenge); err != nil {
		t.Fatal(err)
	}
	if orphanSessions != 0 || codesWithoutChallenge != 0 {
		t.Errorf("%d sessions without their user, %d codes without a PKCE challenge", orphanSessions, codesWithoutChallenge)
	}
	t.Logf("%d clients registered so far, each with its one entry", len(exists))
}
