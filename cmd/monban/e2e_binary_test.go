package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// monbanBinary builds the real binary once per test run.
func monbanBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "monban-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "monban")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// runBinary runs a short monban command and returns its stdout.
func runBinary(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), monbanBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("monban %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// freeAddr returns a loopback address with a port that was free just now
// and that no earlier call of this test binary returned: the kernel may
// hand a just-closed port out again, and two servers of one test (say the
// public and the management listener) must not get the same one.
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
}

// handedOut remembers freeAddr's answers.
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// startServe starts `monban serve` and waits until discovery answers. The
// process gets SIGTERM at cleanup and must exit cleanly.
func startServe(t *testing.T, env []string, args ...string) (issuer string, stdout *syncBuffer) {
	t.Helper()
	addr := freeAddr(t)
	issuer = "http://" + addr
	cmd := exec.Command(monbanBinary(t), append([]string{"serve", "--listen", addr, "--issuer", issuer,
		"--management-listen", freeAddr(t)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout = &syncBuffer{}
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("monban serve exited with %v\nstderr: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("monban serve did not stop on SIGTERM")
		}
	})
	for attempt := 0; attempt < 300; attempt++ { // bounded wait for start-up, not a timing assertion
		select {
		case err := <-exited:
			t.Fatalf("monban serve exited early: %v\nstderr: %s", err, stderr.String())
		default:
		}
		resp, err := http.Get(issuer + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return issuer, stdout
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("monban serve did not answer discovery\nstderr: %s", stderr.String())
	return "", nil
}

// syncBuffer is a bytes.Buffer safe for a process writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDevServer is issue #2's "must show" 5: what `make run` starts serves
// discovery, and the credentials it prints sign in to a demo client.
func TestDevServer(t *testing.T) {
	issuer, stdout := startServe(t, nil, "--dev")
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || doc["issuer"] != issuer {
		t.Fatalf("discovery issuer = %v (%v), want %s", doc["issuer"], err, issuer)
	}
	resp.Body.Close()

	out := stdout.String()
	pw := regexp.MustCompile(`password "([^"]+)"`).FindStringSubmatch(out)
	secret := regexp.MustCompile(`client demo-app-1\s+secret (\S+)`).FindStringSubmatch(out)
	if pw == nil || secret == nil {
		t.Fatalf("dev server did not print demo credentials:\n%s", out)
	}
	r := newRP(t, issuer, "demo-app-1", secret[1], "http://app1.localhost:9001/callback")
	br := newBrowser(t, issuer)
	f := r.start()
	page, body := br.visit(f.URL)
	resp, _ = br.submit(page, body, map[string]string{"username": "demo", "password": pw[1]})
	q := r.callbackParams(resp, f, issuer)
	if _, err := r.exchange(q.Get("code"), f); err != nil {
		t.Fatalf("demo sign-in: %v", err)
	}
}

// TestBinaryOnPostgres is "must show" 4: the same binary on PostgreSQL,
// provisioned only through its CLI, gives single sign-on across domains.
func TestBinaryOnPostgres(t *testing.T) {
	dsn := newPostgresDSN(t)
	env := []string{"MONBAN_DATABASE_URL=" + dsn, "MONBAN_SECRETS=" + testSecret, "MONBAN_LOG_LEVEL=warn"}
	runBinary(t, env, "", "migrate", "up")
	if status := runBinary(t, env, "", "migrate", "status"); !strings.Contains(status, "initial") {
		t.Fatalf("migrate status:\n%s", status)
	}
	runBinary(t, env, alicePassword+"\n", "user", "add", "--username", "alice", "--email", "alice@example.com", "--name", "Alice", "--password-stdin")
	secrets := map[string]string{}
	for id, uri := range map[string]string{"app-a": redirectA, "app-b": redirectB} {
		out := runBinary(t, env, "", "client", "add", "--id", id, "--name", id, "--redirect-uri", uri, "--output", "json")
		var created struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.ClientID != id || created.ClientSecret == "" {
			t.Fatalf("client add --output json = %q (%v)", out, err)
		}
		secrets[id] = created.ClientSecret
	}
	issuer, _ := startServe(t, env)
	fx := &ssoFixture{p: &testProvider{URL: issuer},
		a: newRP(t, issuer, "app-a", secrets["app-a"], redirectA), b: newRP(t, issuer, "app-b", secrets["app-b"], redirectB)}
	br := newBrowser(t, issuer)
	ta := fx.signIn(t, br, fx.a)
	tb := fx.silent(t, br, fx.b)
	if ta.claims["sid"] == nil || ta.claims["sid"] != tb.claims["sid"] || ta.idToken.Subject != tb.idToken.Subject {
		t.Fatalf("SSO on PostgreSQL: A %v, B %v", ta.claims, tb.claims)
	}
}

// testSecret is a fixed key-encryption secret for tests (base64 of 32 bytes).
const testSecret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
