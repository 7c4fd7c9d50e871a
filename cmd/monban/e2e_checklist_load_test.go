package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestChecklistR13ConcurrentRequests covers checklist R13 under load: 500
// requests at once, half client_credentials token requests and half
// introspections (which need the store: on PostgreSQL they queue for the
// pool's few connections), all answered 200 with no error, and the
// goroutines return to their baseline afterwards (no leak per request).
// Latency is BENCHMARKS.md's business, not a timed assertion here: the
// PostgreSQL store's bound on every wait (statement_timeout plus half a
// second, checklist R1) is raised to a minute, because on a loaded
// two-core CI machine under -race 250 introspections queueing for a few
// connections took longer than the default 2.5 s and were answered 503 as
// designed, which made this test a timed assertion after all.
func TestChecklistR13ConcurrentRequests(t *testing.T) {
	const n = 500
	patient := func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["statement_timeout"] = "60000" }
	run := func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		secret := p.addClient(t, storage.Client{ID: "machine", Name: "Machine",
			GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}})
		tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		post := func(path, form string) (int, string, error) {
			req, err := http.NewRequest(http.MethodPost, p.URL+path, strings.NewReader(form))
			if err != nil {
				return 0, "", err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("machine", url.QueryEscape(secret))
			resp, err := client.Do(req)
			if err != nil {
				return 0, "", err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body), err
		}
		grant := "grant_type=client_credentials&scope=api"
		status, body, err := post("/token", grant)
		if err != nil || status != http.StatusOK {
			t.Fatalf("warm-up token request: %d %s %v", status, body, err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(body), &tok); err != nil {
			t.Fatal(err)
		}
		introspect := "token=" + url.QueryEscape(tok.AccessToken)
		tr.CloseIdleConnections()
		time.Sleep(50 * time.Millisecond)
		baseline := runtime.NumGoroutine()

		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				path, form, want := "/token", grant, `"access_token"`
				if i%2 == 1 {
					path, form, want = "/introspect", introspect, `"active":true`
				}
				status, body, err := post(path, form)
				if err == nil && (status != http.StatusOK || !strings.Contains(body, want)) {
					err = fmt.Errorf("POST %s: %d %.200s", path, status, body)
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if err != nil {
				if failed < 3 {
					t.Errorf("request %d: %v", i, err)
				}
				failed++
			}
		}
		if failed > 0 {
			t.Fatalf("%d of %d concurrent requests failed", failed, n)
		}

		tr.CloseIdleConnections() // the server's connection goroutines end with them
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > baseline+5 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := runtime.NumGoroutine(); got > baseline+5 {
			t.Fatalf("%d goroutines after the burst, baseline %d: leaked per request", got, baseline)
		}
	}
	t.Run("memory", func(t *testing.T) { run(t, memory.New()) })
	t.Run("postgres", func(t *testing.T) { run(t, newPostgresStore(t, patient)) })
}
