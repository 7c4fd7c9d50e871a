package main

import "testing"

// TestChecklistEndToEnd lists the checklist items that the end-to-end tests
// written with their features already prove, so `go test -run Checklist`
// shows them. Each entry runs the named test (both stores where it uses
// forEachStore) and fails when that behaviour breaks.
func TestChecklistEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		id string
		fn func(*testing.T)
	}{
		{"A1/registered-uri-only-on-provider-page", TestAuthorizeRefusals},
		{"A9/public-client-needs-pkce", TestAuthorizeRefusals},
		{"A10/plain-pkce-refused", TestAuthorizeRefusals},
		{"A12/prompt-none-and-id-token-hint", TestIDTokenHintAndSessionRenewal},
		{"A12/prompt-none-consent-required", TestConsent},
		{"A13/max-age-and-prompt-login", TestPromptAndMaxAge},
		{"A17/post-and-unknown-parameters", TestAuthorizePost},
		{"A20/consent-denied-access-denied", TestConsent},
		{"S2/cross-domain-sso-top-level", TestSingleSignOnAcrossDomains},
		{"S4/new-sid-at-every-sign-in", TestIDTokenHintAndSessionRenewal},
		{"T1/code-single-use", TestCodeAndPKCE},
		{"T2/code-bound-to-client", TestCodeAndPKCE},
		{"T5/pkce-verification-and-downgrade", TestCodeAndPKCE},
		{"T9/refresh-rotation-and-reuse", TestRefreshRotation},
		{"R5/concurrent-refresh-one-wins", TestRefreshRotation},
		{"T16/revocation", TestRevocation},
		{"R3/revocation-storage-failure-503", TestRevocation},
		{"J5/jwt-access-token-rfc9068", TestAccessTokenJWT},
		{"J4/id-token-alg-per-client", TestIDTokenAlgorithmPerClient},
		{"L1+L2+L3/rp-initiated-logout", TestRPInitiatedLogout},
		{"L4/logout-confirmation-and-csrf", TestLogoutConfirmation},
		{"S6+L3/logout-ends-session-bound-grants", TestLogoutAndOfflineAccess},
		{"L5+L6/back-channel-logout", TestBackchannelLogout},
		{"L6+R11/back-channel-outbox-survives-restart", TestBackchannelAcrossRestart},
		{"R10/replicas-share-and-rotate-keys", TestTwoProvidersRotatingAtOnceOnPostgres},
		{"R10/missing-or-wrong-secret-refuses-start", TestServeRefusesWrongSecret},
	} {
		t.Run(tc.id, tc.fn)
	}
}
