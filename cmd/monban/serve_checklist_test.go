package main

import (
	"github.com/monban-idp/monban/cmd/internal/app"

	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
)

// TestChecklistServer covers checklist R7 (graceful shutdown), R13 and B1
// (server limits) on the server `monban serve` runs, and S13 for the
// development seed.
func TestChecklistServer(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	t.Run("R13/timeouts-and-header-limit", func(t *testing.T) {
		s := newHTTPServer(http.NotFoundHandler(), discard)
		switch {
		case s.ReadHeaderTimeout <= 0 || s.ReadHeaderTimeout > 10*time.Second:
			t.Errorf("ReadHeaderTimeout %v, want (0, 10s] against slowloris", s.ReadHeaderTimeout)
		case s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0:
			t.Errorf("ReadTimeout %v, WriteTimeout %v, IdleTimeout %v: all must be set", s.ReadTimeout, s.WriteTimeout, s.IdleTimeout)
		case s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes > 16<<10:
			t.Errorf("MaxHeaderBytes %d, want at most 16 KiB", s.MaxHeaderBytes)
		}
	})

	// A real server on a loopback port: one handler that blocks until
	// released, for R7, and everything else answered at once.
	entered, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, ln, mux, discard, base, 0) }()

	t.Run("B1/headers-over-16KiB-get-431", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
		req.Header.Set("X-Padding", strings.Repeat("p", 20<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("R7/shutdown-lets-the-request-in-flight-finish", func(t *testing.T) {
		type result struct {
			status int
			body   string
			err    error
		}
		got := make(chan result, 1)
		go func() {
			resp, err := http.Get(base + "/slow")
			if err != nil {
				got <- result{err: err}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			got <- result{status: resp.StatusCode, body: string(b)}
		}()
		<-entered
		cancel() // SIGTERM
		select {
		case err := <-done:
			t.Fatalf("serveHTTP returned (%v) while a request was in flight", err)
		case r := <-got:
			t.Fatalf("the request in flight ended early: %+v", r)
		default:
		}
		close(release)
		if r := <-got; r.err != nil || r.status != http.StatusOK || r.body != "finished" {
			t.Fatalf("request in flight: %+v, want 200 finished", r)
		}
		if err := <-done; err != nil {
			t.Fatalf("serveHTTP after shutdown: %v, want nil (exit code 0)", err)
		}
		if _, err := http.Get(base + "/"); err == nil {
			t.Fatal("new connections still accepted after shutdown")
		}
	})

	t.Run("S13/dev-seed-password-passes-the-policy", func(t *testing.T) {
		for range 3 {
			creds, err := seedDemo(t.Context(), memory.New())
			if err != nil {
				t.Fatal(err)
			}
			if err := password.CheckPolicy(creds.Password, creds.Username, "monban"); err != nil {
				t.Fatalf("seeded password %q: %v", creds.Password, err)
			}
		}
	})
}

// TestChecklistCLIPasswordPolicy is checklist S13 where passwords are set:
// `monban user add` and `user passwd` refuse passwords the policy refuses,
// with the reason, and accept a passphrase.
func TestChecklistCLIPasswordPolicy(t *testing.T) {
	env, _ := dbEnv(t)
	for _, tc := range []struct{ name, pw, want string }{
		{"S13/cli-14-characters", "abcdefgh jklmn", "password is too short: it has 14 characters, at least 15"},
		{"S13/cli-blocklisted", "iloveyouiloveyou", "password is too easy to guess: it is on the list of commonly used passwords"},
		{"S13/cli-service-name", "monbanmonbanmonban", "password is too easy to guess"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, tc.pw+"\n", "user", "add", "--username", "carol", "--password-stdin")
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("user add: exit %d, stderr %q; want a refusal saying %q", r.code, r.stderr, tc.want)
			}
		})
	}
	t.Run("S13/cli-passphrase-accepted-and-passwd-checked", func(t *testing.T) {
		mustRun(t, env, "purple elephants dance at noon\n", "user", "add", "--username", "carol", "--password-stdin")
		if r := runCLI(t, env, "Password1!\n", "user", "passwd", "carol", "--password-stdin"); r.code == 0 || !strings.Contains(r.stderr, "too short") {
			t.Fatalf("user passwd with a weak password: exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestChecklistR13PoolSize: serve warns when its pool leaves no room for a
// second replica in the server's max_connections.
func TestChecklistR13PoolSize(t *testing.T) {
	for _, tc := range []struct {
		name               string
		poolMax, serverMax int32
		wantProblem        bool
	}{
		{"default-pool-default-server", 8, 100, false},
		{"two-replicas-just-fit", 45, 100, false},
		{"one-replica-takes-half", 46, 100, true},
		{"pool-above-server", 200, 100, true},
		{"tiny-server", 8, 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := app.PoolSizeProblem(tc.poolMax, tc.serverMax) != ""; got != tc.wantProblem {
				t.Fatalf("app.PoolSizeProblem(%d, %d) problem = %v, want %v", tc.poolMax, tc.serverMax, got, tc.wantProblem)
			}
		})
	}
}
