package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// waitingServe is a `monban serve` process started while its database
// may not be ready, so nothing waits for discovery.
type waitingServe struct {
	issuer, mgmt string
	stderr       *syncBuffer
	exited       chan error
	cmd          *exec.Cmd
}

// startServeWaiting starts `monban serve` and returns once its management
// listener answers /healthz (a bounded wait, not a timing assertion).
func startServeWaiting(t *testing.T, env []string) *waitingServe {
	t.Helper()
	addr := freeAddr(t)
	s := &waitingServe{issuer: "http://" + addr, mgmt: "http://" + freeAddr(t), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(monbanBinary(t), "serve", "--listen", addr, "--issuer", s.issuer,
		"--management-listen", strings.TrimPrefix(s.mgmt, "http://"))
	s.cmd.Env = append(os.Environ(), env...)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })
	s.poll(t, "/healthz", http.StatusOK, "")
	return s
}

// stop sends SIGTERM and wants a clean exit (code 0).
func (s *waitingServe) stop(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			t.Errorf("monban serve exited with %v\nstderr: %s", err, s.stderr.String())
		}
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("monban serve did not stop on SIGTERM\nstderr: %s", s.stderr.String())
	}
}

// get fetches path on the management listener.
func (s *waitingServe) get(path string) (int, string) {
	resp, err := http.Get(s.mgmt + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// poll waits, a bounded number of times, until path answers status with
// a body containing want; the process must not exit meanwhile.
func (s *waitingServe) poll(t *testing.T, path string, status int, want string) {
	t.Helper()
	var code int
	var body string
	for range 1200 { // up to a minute: the backoff is capped at 15 s
		select {
		case err := <-s.exited:
			t.Fatalf("monban serve exited while waiting (%v)\nstderr: %s", err, s.stderr.String())
		default:
		}
		if code, body = s.get(path); code == status && strings.Contains(body, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s = %d %q, want %d containing %q\nstderr: %s", path, code, body, status, want, s.stderr.String())
}

// TestServeWaitsForTheDatabase is issue #13 item 14: `monban serve`
// started before its database is up, or before its schema is current,
// does not exit (a crash loop under compose or Kubernetes) but waits,
// logging each attempt, with /healthz 200 and /readyz 503 meanwhile; it
// serves once the database is ready, and SIGTERM while it waits is a clean
// exit.
func TestServeWaitsForTheDatabase(t *testing.T) {
	t.Run("schema-not-current-yet", func(t *testing.T) {
		dsn := newPostgresDSN(t) // no schema: migrate up has not run yet
		env := []string{"MONBAN_DATABASE_URL=" + dsn, "MONBAN_SECRETS=" + testSecret, "MONBAN_LOG_LEVEL=info"}
		s := startServeWaiting(t, env)
		s.poll(t, "/readyz", http.StatusServiceUnavailable, "pending")
		runBinary(t, env, "", "migrate", "up")
		s.poll(t, "/readyz", http.StatusOK, "ok")
		if resp, err := http.Get(s.issuer + "/.well-known/openid-configuration"); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery once ready: %v %v", resp, err)
		}
	})

	dsn := newPostgresDSN(t)
	env := []string{"MONBAN_DATABASE_URL=" + dsn, "MONBAN_SECRETS=" + testSecret, "MONBAN_LOG_LEVEL=info"}
	runBinary(t, env, "", "migrate", "up")
	runBinary(t, env, alicePassword+"\n", "user", "add", "--username", "alice", "--password-stdin")
	var created struct {
		ClientSecret string `json:"client_secret"`
	}
	out := runBinary(t, env, "", "client", "add", "--id", "app-a", "--name", "App A", "--redirect-uri", redirectA, "--output", "json")
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("client add: %q (%v)", out, err)
	}

	pgtest.StopServer(t)
	t.Run("SIGTERM-while-waiting-is-a-clean-exit", func(t *testing.T) {
		s := startServeWaiting(t, env)
		s.poll(t, "/readyz", http.StatusServiceUnavailable, "starting")
		s.stop(t) // fails the test unless the exit code is 0
	})
	s := startServeWaiting(t, env)
	t.Run("database-down", func(t *testing.T) {
		if code, body := s.get("/healthz"); code != http.StatusOK {
			t.Errorf("/healthz while waiting = %d %q, want 200", code, body)
		}
		s.poll(t, "/readyz", http.StatusServiceUnavailable, "database:")
		s.poll(t, "/metrics", http.StatusServiceUnavailable, "starting")
		if _, err := http.Get(s.issuer + "/.well-known/openid-configuration"); err == nil {
			t.Error("the provider's port answers before the database is ready")
		}
		// Two failed attempts logged: it retries, it does not exit.
		for range 1200 {
			if strings.Count(s.stderr.String(), "database not ready; waiting") >= 2 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if log := s.stderr.String(); strings.Count(log, "database not ready; waiting") < 2 || !strings.Contains(log, `"retry_in"`) {
			t.Fatalf("attempts not logged with their backoff:\n%s", log)
		}
	})

	pgtest.StartServer(t)
	t.Run("serves-once-the-database-answers", func(t *testing.T) {
		s.poll(t, "/readyz", http.StatusOK, "ok")
		fx := &ssoFixture{p: &testProvider{URL: s.issuer}, a: newRP(t, s.issuer, "app-a", created.ClientSecret, redirectA)}
		if tok := fx.signIn(t, newBrowser(t, s.issuer), fx.a); tok.idToken.Subject == "" {
			t.Fatal("sign-in after the wait gave no subject")
		}
	})
}
