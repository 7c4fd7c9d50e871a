package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/password"
	"github.com/monban-idp/monban/storage/pending"
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
		case s.MaxHeaderBytes <= 0 || s.MaxHeaderBytes+netHTTPHeaderSlack > 16<<10:
			t.Errorf("MaxHeaderBytes %d (+%d slack), want at most 16 KiB", s.MaxHeaderBytes, netHTTPHeaderSlack)
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
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "sign-in page") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serveHTTP(ctx, ln, nil, mux, discard, base, 0) }()

	// Issue #13 item 10: the bound is 16 KiB of request line and headers
	// as sent, not net/http's MaxHeaderBytes plus its 4 KiB of slack.
	sealedLogin := "/login?id=" + pending.Prefix + strings.Repeat("A", pending.MaxSealedLen-len(pending.Prefix))
	for _, tc := range []struct {
		name   string
		target string
		size   int
		want   int
	}{
		{"B1/headers-of-17KiB-get-431", "/", 17 << 10, http.StatusRequestHeaderFieldsTooLarge},
		{"B1/headers-of-16KiB-plus-one-get-431", "/", 16<<10 + 1, http.StatusRequestHeaderFieldsTooLarge},
		{"B1/headers-of-exactly-16KiB-accepted", "/", 16 << 10, http.StatusOK},
		{"B1/headers-just-under-16KiB-accepted", "/", 16<<10 - 100, http.StatusOK},
		{"B1/longest-sealed-sign-in-url-with-8KiB-of-cookies-accepted", sealedLogin, len(sealedLogin) + 8<<10 + 200, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawRequestStatus(t, ln.Addr().String(), tc.target, tc.size); got != tc.want {
				t.Fatalf("%d bytes of request line and headers: status %d, want %d", tc.size, got, tc.want)
			}
		})
	}
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

// rawRequestStatus sends a GET for target whose request line and headers
// (a cookie header padded to the size, blank line included) are exactly
// size bytes, and returns the status code of the answer.
func rawRequestStatus(t *testing.T, addr, target string, size int) int {
	t.Helper()
	head := "GET " + target + " HTTP/1.1\r\nHost: " + addr + "\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36\r\n" +
		"Accept-Language: ja,en-US;q=0.9,en;q=0.8\r\nConnection: close\r\nCookie: pad="
	tail := "\r\n\r\n"
	pad := size - len(head) - len(tail)
	if pad < 0 {
		t.Fatalf("size %d is below the %d bytes of fixed headers", size, len(head)+len(tail))
	}
	req := head + strings.Repeat("c", pad) + tail
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
