package op

import (
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/pending"
)

// TestAuthorizeCapsForPending: nonce and login_hint have caps tighter than
// every parameter's 2048 bytes (state keeps 2048, checklist A7), answered
// with invalid_request and state echoed; and a request at every cap seals
// within pending.MaxSealedLen, so the sign-in page's URL stays far below
// serve's 16 KiB header limit (issue #13 item 7b).
func TestAuthorizeCapsForPending(t *testing.T) {
	for _, tc := range []struct {
		name    string
		key     string
		length  int
		wantErr string
	}{
		{"nonce-at-cap", "nonce", maxNonceBytes, ""},
		{"nonce-over-cap", "nonce", maxNonceBytes + 1, "invalid_request"},
		{"login-hint-at-cap", "login_hint", maxLoginHintBytes, ""},
		{"login-hint-over-cap", "login_hint", maxLoginHintBytes + 1, "invalid_request"},
		{"state-at-cap", "state", maxParamLength, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, oerr := parseAuthParams(authzParams(tc.key, strings.Repeat("x", tc.length)), checklistWeb1)
			switch {
			case tc.wantErr == "" && oerr != nil:
				t.Fatalf("refused: %s (%s)", oerr.ErrorType, oerr.Description)
			case tc.wantErr != "" && (oerr == nil || string(oerr.ErrorType) != tc.wantErr):
				t.Fatalf("got %v, want %s", oerr, tc.wantErr)
			case tc.wantErr != "" && (!a.stateOK || a.state != "S1"):
				t.Fatal("state not echoed with the error")
			}
		})
	}

	t.Run("maximal-request-seals-small", func(t *testing.T) {
		redirect := "https://app.test/" + strings.Repeat("r", clientpolicy.MaxRedirectURILen-len("https://app.test/"))
		c := &storage.Client{ID: strings.Repeat("é", clientpolicy.MaxClientIDLen), AuthMethod: storage.AuthMethodBasic,
			RedirectURIs: []string{redirect}, GrantTypes: []string{"authorization_code", "refresh_token"},
			Scopes: knownScopes}
		v := authzParams("state", strings.Repeat("s", maxParamLength), "nonce", strings.Repeat("n", maxNonceBytes),
			"login_hint", strings.Repeat("h", maxLoginHintBytes), "scope", strings.Join(knownScopes, " "),
			"prompt", "login consent select_account", "max_age", "2147483647", "response_mode", "query",
			"ui_locales", strings.TrimSpace(strings.Repeat("zh-Hant-TW-x-abcdefgh-abcdefgh-abcd ", maxUILocales)))
		a, oerr := parseAuthParams(v, c)
		if oerr != nil {
			t.Fatalf("refused: %v", oerr)
		}
		if len(a.uiLocales) != maxUILocales || len(a.uiLocales[0]) != maxUILocaleLen {
			t.Fatalf("ui_locales not at their cap: %q", a.uiLocales)
		}
		now := time.Now()
		req := &storage.AuthRequest{ID: storage.NewID(), ClientID: c.ID, RedirectURI: redirect, Scopes: a.scopes,
			State: a.state, Nonce: a.nonce, ResponseMode: a.responseMode, CodeChallenge: a.challenge,
			CodeChallengeMethod: a.method, Prompt: a.prompt, MaxAge: a.maxAge, LoginHint: a.loginHint, UILocales: a.uiLocales,
			HintSubject: storage.NewID(), ACR: acr.PhishingResistant,
			// Every claim asked for one by one, in both places (issue 19 item 8).
			Claims: storage.RequestedClaims{IDToken: storage.RequestableClaims, UserInfo: storage.RequestableClaims},
			// And a key named by dpop_jkt (RFC 9449 §10).
			DPoPJKT:   "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
			CreatedAt: now, ExpiresAt: now.Add(DefaultAuthRequestTTL)}
		s, err := pending.New(make([]byte, pending.KeySize), nil)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := s.Seal(req)
		if err != nil {
			t.Fatalf("a request at every cap does not seal: %v", err)
		}
		if line := len("GET /login?id=" + sealed + " HTTP/1.1"); line > 8<<10 {
			t.Fatalf("request line %d bytes, want at most 8 KiB", line)
		}
		t.Logf("maximal sealed request: %d bytes (MaxSealedLen %d)", len(sealed), pending.MaxSealedLen)
	})
}
