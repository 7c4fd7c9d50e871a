package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// checklist maps the security checklist items (docs/security-checklist.md,
// SECURITY.md) that end-to-end tests written with their features prove to
// the names of those tests. It is data, not a test that re-runs others:
// `make checklist` prints it, and TestChecklistMap checks that every named
// test exists. Tests named TestChecklist… carry their ids in their subtest
// names instead.
var checklist = []struct {
	id    string
	tests []string
}{
	{"A1/registered-uri-only-on-provider-page", []string{"TestAuthorizeRefusals"}},
	{"A9/public-client-needs-pkce", []string{"TestAuthorizeRefusals"}},
	{"A10/plain-pkce-refused", []string{"TestAuthorizeRefusals"}},
	{"A12/prompt-none-and-id-token-hint", []string{"TestIDTokenHintAndSessionRenewal"}},
	{"A12/prompt-none-consent-required", []string{"TestConsent"}},
	{"A13/max-age-and-prompt-login", []string{"TestPromptAndMaxAge"}},
	{"A13/prompt-select-account", []string{"TestPromptSelectAccount"}},
	{"A17/post-and-unknown-parameters", []string{"TestAuthorizePost"}},
	{"A20/consent-denied-access-denied", []string{"TestConsent"}},
	{"S2/cross-domain-sso-top-level", []string{"TestSingleSignOnAcrossDomains"}},
	{"S4/new-sid-at-every-sign-in", []string{"TestIDTokenHintAndSessionRenewal"}},
	{"T1/code-single-use", []string{"TestCodeAndPKCE"}},
	{"T2/code-bound-to-client", []string{"TestCodeAndPKCE"}},
	{"T5/pkce-verification-and-downgrade", []string{"TestCodeAndPKCE"}},
	{"T9/refresh-rotation-and-reuse", []string{"TestRefreshRotation"}},
	{"R5/concurrent-refresh-one-wins", []string{"TestRefreshRotation"}},
	{"T16/revocation", []string{"TestRevocation"}},
	{"R3/revocation-storage-failure-503", []string{"TestRevocation"}},
	{"J5/jwt-access-token-rfc9068", []string{"TestAccessTokenJWT"}},
	{"J4/id-token-alg-per-client", []string{"TestIDTokenAlgorithmPerClient"}},
	{"L1+L2+L3/rp-initiated-logout", []string{"TestRPInitiatedLogout"}},
	{"L4/logout-confirmation-and-csrf", []string{"TestLogoutConfirmation"}},
	{"S6+L3/logout-ends-session-bound-grants", []string{"TestLogoutAndOfflineAccess"}},
	{"L5+L6/back-channel-logout", []string{"TestBackchannelLogout"}},
	{"L6+R11/back-channel-outbox-survives-restart", []string{"TestBackchannelAcrossRestart"}},
	{"R10/replicas-share-and-rotate-keys", []string{"TestTwoProvidersRotatingAtOnceOnPostgres"}},
	{"R10/missing-or-wrong-secret-refuses-start", []string{"TestServeRefusesWrongSecret"}},
}

// TestChecklistMap fails when the checklist table names a test that does
// not exist in this package, and logs the table for `make checklist`.
func TestChecklistMap(t *testing.T) {
	have := testNames(t)
	for _, c := range checklist {
		if len(c.tests) == 0 {
			t.Errorf("checklist %s names no test", c.id)
		}
		for _, name := range c.tests {
			if !have[name] {
				t.Errorf("checklist %s names %s, which is not a test of this package", c.id, name)
			}
			t.Logf("checklist-map: %s e2e.%s", c.id, name)
		}
	}
}

// testNames returns the Test functions declared in the package's test
// files, parsed with go/parser (so a renamed test breaks the table).
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	fset := token.NewFileSet()
	for _, f := range files {
		parsed, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range parsed.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				names[fn.Name.Name] = true
			}
		}
	}
	return names
}
