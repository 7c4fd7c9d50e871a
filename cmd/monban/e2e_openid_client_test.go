package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// openidClientDir holds the node script and its pinned dependencies
// (openid-client 6, package-lock.json); node_modules is not committed.
const openidClientDir = "testdata/openid-client"

// requireNode returns the paths of node and npm. Without them the test is
// skipped on a developer's machine, but fails under CI (env CI set),
// where .ci/run installs Debian's nodejs and npm: the openid-client run
// must not silently vanish from CI.
func requireNode(t *testing.T) (node, npm string) {
	t.Helper()
	node, err1 := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err := errors.Join(err1, err2); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node and npm are required for the openid-client end-to-end test under CI "+
				"(apt-get install -y nodejs npm; .ci/run does this): %v", err)
		}
		t.Skipf("node or npm not installed, skipping the openid-client end-to-end test: %v", err)
	}
	return node, npm
}

// openidClientModules returns a directory with the script and its
// node_modules, installed with `npm ci` from the committed lock file into
// the user cache ($XDG_CACHE_HOME/monban/openid-client-<hash of the
// lock>) the first time, and reused after.
func openidClientModules(t *testing.T, npm string) string {
	t.Helper()
	lock, err := os.ReadFile(filepath.Join(openidClientDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(openidClientDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(openidClientDir, "run.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for the npm modules: %v", err)
	}
	sum := sha256.Sum256(append(append([]byte{}, pkg...), lock...))
	dir := filepath.Join(cache, "monban", "openid-client-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openid-client", "package.json")); err != nil {
		// Install into a fresh directory and move it into place, so a
		// concurrent or interrupted install never leaves a half one.
		must(t, os.MkdirAll(filepath.Dir(dir), 0o755))
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
		must(t, err)
		defer os.RemoveAll(tmp)
		must(t, os.WriteFile(filepath.Join(tmp, "package.json"), pkg, 0o644))
		must(t, os.WriteFile(filepath.Join(tmp, "package-lock.json"), lock, 0o644))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = tmp
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci of %s failed (is the npm registry reachable?): %v\n%s", openidClientDir, err, out)
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "openid-client")); statErr != nil {
				t.Fatalf("install npm modules into %s: %v", dir, err)
			} // another test process won the race
		}
	}
	// The script runs next to its node_modules (ES modules resolve from
	// the script's directory); written anew each time.
	f, err := os.CreateTemp(dir, "run-*.mjs")
	must(t, err)
	t.Cleanup(func() { _ = os.Remove(f.Name()) })
	_, err = f.Write(script)
	must(t, errors.Join(err, f.Close()))
	return f.Name()
}

// openidClientResult is what run.mjs reports.
type openidClientResult struct {
	Sub                string `json:"sub"`
	TokenType          string `json:"token_type"`
	RefreshedTokenType string `json:"refreshed_token_type"`
	Rotated            bool   `json:"rotated"`
	UserinfoSub        string `json:"userinfo_sub"`
	AccessToken        string `json:"access_token"`
	BearerRefused      string `json:"bearer_refused"`
	NoProofStatus      int    `json:"no_proof_status"`
	NoProofChallenge   string `json:"no_proof_challenge"`
}

// TestOpenIDClientDPoP (issue 19, "Must show"): openid-client 6 (npm,
// pinned) runs PAR (RFC 9126) with private_key_jwt (RFC 7523 §2.2) and
// PKCE, the person signs in (driven here in a cookie jar), the code is
// exchanged with a DPoP proof (RFC 9449 §5: token_type DPoP), refreshed
// with DPoP, and UserInfo is called with the DPoP-bound token; the same
// access token without its proof is refused, as a Bearer token and with
// the DPoP scheme alone. The client requires PAR and DPoP, so none of it
// could have worked without them.
func TestOpenIDClientDPoP(t *testing.T) {
	node, npm := requireNode(t)
	script := openidClientModules(t, npm)

	p := newTestServer(t)
	alice := p.addUser(t, "alice", alicePassword)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	const kid = "rp-key-1"
	sg := signer{t: t, key: key, alg: jose.ES256, kid: kid}
	p.addClient(t, storage.Client{ID: "node-rp", Name: "Node RP", RedirectURIs: []string{redirectA},
		AuthMethod: storage.AuthMethodPrivateKeyJWT, JWKS: sg.jwks(), RequirePAR: true, DPoPBoundAccessTokens: true})
	priv, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	must(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), "ISSUER="+p.URL, "CLIENT_ID=node-rp", "REDIRECT_URI="+redirectA, "CLIENT_JWK="+string(priv))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	lines := bufio.NewScanner(stdout)
	next := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix+" "); ok {
				return rest
			}
		}
		_ = cmd.Wait()
		t.Fatalf("openid-client script ended before %s:\n%s", prefix, stderr.String())
		return ""
	}

	authURL := next("AUTHORIZE")
	br := newBrowser(t, p.URL)
	page, html := br.visit(authURL)
	resp, _ := br.submit(page, html, map[string]string{"username": "alice", "password": alicePassword})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, redirectA) {
		t.Fatalf("sign-in ended with %d Location %q, want a redirect to %s", resp.StatusCode, loc, redirectA)
	}
	_, err = io.WriteString(stdin, loc+"\n")
	must(t, err)
	var got openidClientResult
	raw := next("RESULT")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("openid-client script: %v\n%s", err, stderr.String())
	}
	must(t, json.Unmarshal([]byte(raw), &got))

	switch {
	case got.Sub != alice.ID || got.UserinfoSub != alice.ID:
		t.Errorf("sub %q, userinfo sub %q, want %q", got.Sub, got.UserinfoSub, alice.ID)
	case !strings.EqualFold(got.TokenType, "DPoP") || !strings.EqualFold(got.RefreshedTokenType, "DPoP"):
		t.Errorf("token_type %q, after refresh %q, want DPoP", got.TokenType, got.RefreshedTokenType)
	case !got.Rotated:
		t.Error("the refresh token was not rotated")
	case got.BearerRefused != "401":
		t.Errorf("the DPoP-bound token as a Bearer token: %q, want refused with 401", got.BearerRefused)
	case got.NoProofStatus != http.StatusUnauthorized || !strings.Contains(got.NoProofChallenge, `error="invalid_dpop_proof"`):
		t.Errorf("the DPoP-bound token without a proof: %d %q, want 401 invalid_dpop_proof", got.NoProofStatus, got.NoProofChallenge)
	}
	// The same token, stolen and replayed here without the key, is refused.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+"/userinfo", nil)
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+got.AccessToken)
	res, err := http.DefaultClient.Do(req)
	must(t, err)
	res.Body.Close()
	if ch := res.Header.Get("WWW-Authenticate"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("stolen token as Bearer: %d %q, want 401 invalid_token", res.StatusCode, ch)
	}
}

// must fails the test on err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
