package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// hangBound tells an answer from a hang. The store gives up on a silent
// database after about 2.5 s; the bound is generous on purpose, it does
// not measure.
const hangBound = 10 * time.Second

// TestChecklistR1DatabaseHangs is issue #13 item 9 (checklist R1,
// "connections hang"): with the PostgreSQL processes stopped (SIGSTOP,
// so connections are accepted and nothing answers, unlike a server that
// is down), /authorize with a live session, /token, /userinfo (for a
// token seen before or not) and /readyz answer 503 instead of waiting; once the processes continue, sign-in and
// readiness recover without a restart.
func TestChecklistR1DatabaseHangs(t *testing.T) {
	store := newPostgresStore(t)
	fx := newCkFixture(t, store)
	code, f := fx.code(t)
	tok, err := fx.a.exchange(fx.code(t))
	if err != nil {
		t.Fatal(err)
	}
	mgmt := fx.p.App.ManagementHandler()
	// The browser's cookies (its live session), no redirects followed, and
	// a timeout that marks a hang.
	client := &http.Client{Jar: fx.br.client.Jar, Timeout: hangBound,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(t *testing.T, req *http.Request) *http.Response {
		t.Helper()
		resp, err := client.Do(req)
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			t.Fatalf("%s %s: no answer within %s from a hung database", req.Method, req.URL.Path, hangBound)
		}
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
		}
		resp.Body.Close()
		return resp
	}
	token := func(form url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, fx.p.URL+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app-a", url.QueryEscape(fx.secret["app-a"]))
		return req
	}

	// A token this replica has seen live: its check under the hang is the
	// liveness-version read that concurrent requests share
	// (LivenessVersion, coalesced), not the full status read.
	remembered, err := fx.a.exchange(fx.code(t))
	if err != nil {
		t.Fatal(err)
	}
	userinfo := func(access string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, fx.p.URL+"/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		return req
	}
	if resp := do(t, userinfo(remembered.token.AccessToken)); resp.StatusCode != http.StatusOK {
		t.Fatalf("userinfo before the hang: %d", resp.StatusCode)
	}

	pgtest.SuspendServer(t)
	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"R1/hang/authorize-with-session", func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, fx.b.start().URL, nil)
			return req
		}},
		{"R1/hang/token-code", func() *http.Request { return token(redeemForm(code, f)) }},
		{"R1/hang/token-refresh", func() *http.Request {
			return token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.token.RefreshToken}})
		}},
		{"R1/hang/userinfo", func() *http.Request { return userinfo(tok.token.AccessToken) }},
		{"R1/hang/userinfo-remembered-token", func() *http.Request { return userinfo(remembered.token.AccessToken) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, tc.req())
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d Location %q, want 503 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("R1/hang/readyz", func(t *testing.T) {
		done := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			mgmt.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			done <- rec.Code
		}()
		select {
		case code := <-done:
			if code != http.StatusServiceUnavailable {
				t.Fatalf("/readyz = %d, want 503", code)
			}
		case <-time.After(hangBound):
			t.Fatalf("/readyz: no answer within %s from a hung database", hangBound)
		}
	})

	pgtest.ResumeServer(t)
	t.Run("R1/hang/recovers", func(t *testing.T) {
		// Connections given up on during the hang are discarded as they
		// fail: allow a bounded number of 503s, nothing else.
		for attempt := 1; ; attempt++ {
			fl := fx.b.start()
			resp := do(t, func() *http.Request { req, _ := http.NewRequest(http.MethodGet, fl.URL, nil); return req }())
			if resp.StatusCode == http.StatusServiceUnavailable && attempt < 20 {
				continue
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Query().Get("code") == "" {
				t.Fatalf("attempt %d after recovery: %d %s", attempt, resp.StatusCode, resp.Header.Get("Location"))
			}
			if _, err := fx.b.exchange(loc.Query().Get("code"), fl); err != nil {
				t.Fatalf("exchange after recovery: %v", err)
			}
			break
		}
		rec := httptest.NewRecorder()
		mgmt.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("/readyz after recovery = %d, want 200", rec.Code)
		}
	})
}
