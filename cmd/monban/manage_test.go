package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
)

// metricValue returns the value of the sample series (name with labels,
// exactly as exposed), or -1 when it is absent.
func metricValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(exposition)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// TestMetricsMoveWithFlows drives a failed and a successful sign-in, a
// code exchange, a refresh and a refresh-token reuse, then scrapes
// /metrics: every counter moved, and requests are labelled by route
// pattern, never by raw path.
func TestMetricsMoveWithFlows(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store))
		p.addUser(t, "alice", alicePassword)
		// Nothing listens at the back-channel URI, and the worker does not
		// run here: the logout below leaves one delivery pending.
		secret := p.addClient(t, storage.Client{ID: "app-a", Name: "App A", RedirectURIs: []string{redirectA},
			BackchannelLogoutURI: "http://127.0.0.1:9/backchannel"})
		r := newRP(t, p.URL, "app-a", secret, redirectA, "openid", "offline_access")
		fx := &ssoFixture{p: p, a: r}
		br := newBrowser(t, p.URL)

		f := r.start()
		page, body := br.visit(f.URL)
		if resp, _ := br.submit(page, body, map[string]string{"username": "alice", "password": "wrong"}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password: %d", resp.StatusCode)
		}
		tok := fx.signIn(t, br, r)
		refreshed, err := r.oauth.TokenSource(r.ctx, tok.token).Token() // still valid: no refresh
		if err != nil || refreshed.AccessToken != tok.token.AccessToken {
			t.Fatalf("token source: %v", err)
		}
		stale := *tok.token
		stale.Expiry = time.Now().Add(-time.Hour)
		next, err := r.oauth.TokenSource(r.ctx, &stale).Token()
		if err != nil || next.RefreshToken == tok.token.RefreshToken {
			t.Fatalf("refresh: %v", err)
		}
		if _, err := r.oauth.TokenSource(r.ctx, &stale).Token(); err == nil {
			t.Fatal("reusing the rotated refresh token succeeded")
		}
		_, _ = br.visit(p.URL + "/no/such/path/" + randomString())
		if resp, _ := br.visit(p.URL + "/end_session?" + url.Values{"id_token_hint": {tok.token.Extra("id_token").(string)},
			"client_id": {"app-a"}}.Encode()); resp.StatusCode != http.StatusOK {
			t.Fatalf("logout: %d", resp.StatusCode)
		}

		exposition := p.metricsText(t)
		for _, tc := range []struct {
			name   string
			series string
			want   float64
		}{
			{"sign-in-ok", `monban_sign_ins_total{result="ok"}`, 1},
			{"sign-in-failed", `monban_sign_ins_total{result="failed"}`, 1},
			{"code-exchange", `monban_tokens_issued_total{grant_type="authorization_code"}`, 1},
			{"refresh", `monban_tokens_issued_total{grant_type="refresh_token"}`, 1},
			{"refresh-reuse", `monban_refresh_token_reuse_total`, 1},
			{"token-requests-by-route", `monban_http_requests_total{code="200",route="/token"}`, 2},
			{"token-refused", `monban_http_requests_total{code="400",route="/token"}`, 1},
			{"login-posts", `monban_http_requests_total{code="401",route="/login"}`, 1},
			{"unmatched-paths-share-a-label", `monban_http_requests_total{code="404",route="unmatched"}`, 1},
			{"latency", `monban_http_request_duration_seconds_count{route="/token"}`, 3},
			{"deliveries-listed-at-zero", `monban_logout_deliveries_total{outcome="failed"}`, 0},
			{"logout-delivery-pending", `monban_logout_deliveries_pending`, 1},
			{"logout-deliveries-failed-listed", `monban_logout_deliveries_failed`, 0},
			{"go-collector", `go_goroutines`, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := metricValue(t, exposition, tc.series); got < tc.want {
					t.Errorf("%s = %v, want at least %v\n%s", tc.series, got, tc.want, exposition)
				}
			})
		}
		if bad := regexp.MustCompile(`route="[A-Z]+ `).FindString(exposition); bad != "" {
			t.Errorf("route labels in two forms: %s", bad)
		}
		if strings.Contains(exposition, "/no/such/path") {
			t.Error("a raw path became a label value")
		}
		if _, isPG := store.(*postgres.Store); isPG && metricValue(t, exposition, "monban_db_pool_acquires_total") < 1 {
			t.Error("no PostgreSQL pool statistics")
		}
	})
}

// TestServeManagementListener: `monban serve` answers /healthz, /readyz
// and /metrics on its management port, apart from the provider's.
func TestServeManagementListener(t *testing.T) {
	mgmt := freeAddr(t)
	issuer, _ := startServe(t, nil, "--dev", "--management-listen", mgmt)
	for _, tc := range []struct {
		name, path string
		want       string
	}{
		{"healthz", "/healthz", "ok"},
		{"readyz", "/readyz", "ok"},
		{"metrics", "/metrics", "# TYPE monban_http_requests_total counter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + mgmt + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Fatalf("GET %s = %d %q, want 200 containing %q", tc.path, resp.StatusCode, body, tc.want)
			}
			resp, err = http.Get(issuer + tc.path) // not on the public port
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET %s on the provider's port = %d, want 404", tc.path, resp.StatusCode)
			}
		})
	}
}

// TestMetricsLogoutDeliveries: back-channel logout attempts are counted by
// outcome as the worker makes them.
func TestMetricsLogoutDeliveries(t *testing.T) {
	rcv := newReceiver(t)
	p := newTestServer(t)
	registerLogoutClients(t, p, rcv)
	fx := openLogoutFixture(t, p, rcv)
	br := newBrowser(t, p.URL)
	a, _ := fx.ssoBoth(t, br)
	rcv.answer("app-b", http.StatusFound)
	fx.logoutA(t, br, a)
	step(t, p, 1, 1)
	exposition := p.metricsText(t)
	for _, tc := range []struct {
		name   string
		series string
		want   float64
	}{
		{"delivered", `monban_logout_deliveries_total{outcome="delivered"}`, 1},
		{"retry", `monban_logout_deliveries_total{outcome="retry"}`, 1},
		{"failed", `monban_logout_deliveries_total{outcome="failed"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricValue(t, exposition, tc.series); got != tc.want {
				t.Errorf("%s = %v, want %v", tc.series, got, tc.want)
			}
		})
	}
}
