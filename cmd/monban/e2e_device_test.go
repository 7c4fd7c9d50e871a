package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/storage"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// TestDeviceFlowWithXOAuth2: a TV (a public client) starts the device
// flow with golang.org/x/oauth2's DeviceAuth; a person opens the
// verification_uri_complete in a browser, signs in, confirms; x/oauth2's
// DeviceAccessToken gets tokens, whose ID token go-oidc verifies, and the
// refresh token works. The device code is then spent.
func TestDeviceFlowWithXOAuth2(t *testing.T) {
	forEachStore(t, func(t *testing.T, store storage.Store) {
		p := newTestServer(t, withStore(store), withConfig(func(c *app.Config) { c.DeviceInterval = time.Second }))
		p.addUser(t, "alice", alicePassword)
		p.addClient(t, storage.Client{ID: "tv", Name: "Living Room TV", AuthMethod: storage.AuthMethodNone,
			ApplicationType: storage.ApplicationNative, GrantTypes: []string{deviceGrant, "refresh_token"}})
		r := newRP(t, p.URL, "tv", "", "", "openid", "profile", "offline_access")
		if r.oauth.Endpoint.DeviceAuthURL != p.URL+"/device_authorization" {
			t.Fatalf("discovery device_authorization_endpoint = %q", r.oauth.Endpoint.DeviceAuthURL)
		}
		da, err := r.oauth.DeviceAuth(r.ctx)
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		if len(da.UserCode) != 9 || da.UserCode[4] != '-' || da.VerificationURI != p.URL+"/device" || da.Interval != 1 {
			t.Fatalf("device authorization response: %+v", da)
		}

		br := newBrowser(t, p.URL)
		page, body := br.visit(da.VerificationURIComplete)
		page, body = br.submit(page, body, nil) // the code is prefilled
		if !strings.Contains(body, `name="password"`) {
			t.Fatalf("want the sign-in page, got %s:\n%s", page.Request.URL, body)
		}
		page, body = br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
		if page.Request.URL.Path != "/device/confirm" || !strings.Contains(body, "Living Room TV") || !strings.Contains(body, da.UserCode) {
			t.Fatalf("want the confirmation, got %s:\n%s", page.Request.URL, body)
		}
		_, body = br.submit(page, body, map[string]string{"action": "approve"})
		if !strings.Contains(body, "signed in on your device") {
			t.Fatalf("want the done page:\n%s", body)
		}

		tok, err := r.oauth.DeviceAccessToken(r.ctx, da)
		if err != nil {
			t.Fatalf("DeviceAccessToken: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := r.verifier.Verify(r.ctx, raw)
		if err != nil || idt.Subject == "" || tok.RefreshToken == "" {
			t.Fatalf("tokens: %v, sub %q, refresh %q", err, idt.Subject, tok.RefreshToken)
		}
		if _, err := r.userinfo(tok.AccessToken); err != nil {
			t.Errorf("userinfo with the device's access token: %v", err)
		}
		refreshed, err := r.oauth.TokenSource(r.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil || refreshed.AccessToken == "" {
			t.Fatalf("refresh: %v", err)
		}

		// The device code is spent: polling again is invalid_grant, and
		// nothing new is issued.
		status, e := pollDevice(t, p.URL, "tv", "", da.DeviceCode)
		if status != http.StatusBadRequest || e != "invalid_grant" {
			t.Errorf("poll after tokens = %d %s, want 400 invalid_grant", status, e)
		}
	})
}

// pollDevice posts a device access token request and returns the status
// and the OAuth error code ("" on success).
func pollDevice(t *testing.T, issuer, clientID, secret, deviceCode string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {clientID}}
	req, _ := http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		form.Del("client_id")
		req, _ = http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(clientID, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, oauthError(string(b))
}

// startDevice posts a device authorization request.
func startDevice(t *testing.T, issuer string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(issuer+"/device_authorization", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDeviceFlowErrors: the RFC 8628 answers, driven with the injected
// clock: authorization_pending, slow_down (and the interval grows by 5
// s), access_denied after a refusal, expired_token after expiry; a client
// not registered for the grant, another client's device code, an unknown
// code and a confidential client with a wrong secret are refused, and
// none of them changes the authorization.
func TestDeviceFlowErrors(t *testing.T) {
	p := newTestServer(t)
	p.addUser(t, "alice", alicePassword)
	p.addClient(t, storage.Client{ID: "tv", Name: "TV", AuthMethod: storage.AuthMethodNone,
		ApplicationType: storage.ApplicationNative, GrantTypes: []string{deviceGrant}})
	p.addClient(t, storage.Client{ID: "tv2", Name: "TV 2", AuthMethod: storage.AuthMethodNone,
		ApplicationType: storage.ApplicationNative, GrantTypes: []string{deviceGrant}})
	p.addClient(t, storage.Client{ID: "web", Name: "Web", RedirectURIs: []string{redirectA}})
	secret := p.addClient(t, storage.Client{ID: "box", Name: "Box", GrantTypes: []string{deviceGrant}})

	t.Run("client-not-registered-for-the-grant", func(t *testing.T) {
		status, out := startDevice(t, p.URL, url.Values{"client_id": {"web"}, "scope": {"openid"}})
		if status == http.StatusOK || out["error"] == "" {
			t.Errorf("= %d %v", status, out)
		}
	})
	t.Run("scope-not-allowed", func(t *testing.T) {
		status, out := startDevice(t, p.URL, url.Values{"client_id": {"tv"}, "scope": {"openid groups"}})
		if status != http.StatusBadRequest || out["error"] != "invalid_scope" {
			t.Errorf("= %d %v", status, out)
		}
	})
	t.Run("confidential-client-wrong-secret", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/device_authorization", strings.NewReader("scope=openid"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("box", secret+"x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("= %d", resp.StatusCode)
		}
	})

	status, out := startDevice(t, p.URL, url.Values{"client_id": {"tv"}, "scope": {"openid"}})
	if status != http.StatusOK {
		t.Fatalf("device authorization: %d %v", status, out)
	}
	dc, uc := out["device_code"].(string), out["user_code"].(string)
	steps := []struct {
		name, clientID, code, want string
		advance                    time.Duration
	}{
		{"pending", "tv", dc, "authorization_pending", 0},
		{"too-soon", "tv", dc, "slow_down", time.Second},
		{"old-interval-now-too-soon", "tv", dc, "slow_down", 6 * time.Second},
		{"waited", "tv", dc, "authorization_pending", 16 * time.Second},
		{"another-clients-code", "tv2", dc, "invalid_grant", 20 * time.Second},
		{"unknown-code", "tv", "not-a-device-code", "invalid_grant", 20 * time.Second},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			p.Clock.Advance(st.advance)
			if status, e := pollDevice(t, p.URL, st.clientID, "", st.code); status != http.StatusBadRequest || e != st.want {
				t.Errorf("= %d %s, want 400 %s", status, e, st.want)
			}
		})
	}

	// The person refuses: access_denied.
	br := newBrowser(t, p.URL)
	page, body := br.visit(p.URL + "/device?user_code=" + url.QueryEscape(strings.ToLower(uc)))
	page, body = br.submit(page, body, nil)
	page, body = br.submit(page, body, map[string]string{"username": "alice", "password": alicePassword})
	br.submit(page, body, map[string]string{"action": "deny"})
	p.Clock.Advance(30 * time.Second)
	if status, e := pollDevice(t, p.URL, "tv", "", dc); status != http.StatusBadRequest || e != "access_denied" {
		t.Errorf("after a refusal = %d %s, want access_denied", status, e)
	}
	p.Clock.Advance(11 * time.Minute)
	if status, e := pollDevice(t, p.URL, "tv", "", dc); status != http.StatusBadRequest || e != "expired_token" {
		t.Errorf("after expiry = %d %s, want expired_token", status, e)
	}
}

// TestDeviceFlowOff: with the device flow disabled, discovery does not
// advertise it and its endpoints do not exist.
func TestDeviceFlowOff(t *testing.T) {
	p := newTestServer(t, withConfig(func(c *app.Config) { c.DeviceFlow = false }))
	p.addClient(t, storage.Client{ID: "tv", Name: "TV", AuthMethod: storage.AuthMethodNone,
		ApplicationType: storage.ApplicationNative, GrantTypes: []string{deviceGrant}})
	resp, err := http.Get(p.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "device") {
		t.Errorf("discovery advertises the device flow:\n%s", b)
	}
	if status, _ := startDevice(t, p.URL, url.Values{"client_id": {"tv"}}); status != http.StatusNotFound {
		t.Errorf("/device_authorization = %d", status)
	}
	if status, e := pollDevice(t, p.URL, "tv", "", "x"); status != http.StatusBadRequest || e != "unsupported_grant_type" {
		t.Errorf("device grant = %d %s", status, e)
	}
	r, err := http.Get(p.URL + "/device")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusNotFound {
		t.Errorf("/device = %d", r.StatusCode)
	}
}
