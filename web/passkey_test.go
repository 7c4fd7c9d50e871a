package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// softKey is a software WebAuthn authenticator for tests: an ES256 key
// making "none" attestations and assertions as WebAuthn §6 lays them out.
type softKey struct {
	t          *testing.T
	priv       *ecdsa.PrivateKey
	id         []byte
	userHandle []byte
	count      uint32
	rpID       string
	origin     string
}

var b64 = base64.RawURLEncoding

func newSoftKey(t *testing.T, issuer string) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	u, _ := url.Parse(issuer)
	return &softKey{t: t, priv: priv, id: id, rpID: u.Hostname(), origin: issuer}
}

// authData is the authenticator data (WebAuthn §6.1): UP and UV set, the
// attested credential data when attested.
func (k *softKey) authData(attested bool) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	flags := byte(0x01 | 0x04)
	if attested {
		flags |= 0x40
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	if attested {
		out = append(out, make([]byte, 16)...) // AAGUID
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.id)))
		out = append(out, k.id...)
		x, y := make([]byte, 32), make([]byte, 32)
		k.priv.PublicKey.X.FillBytes(x)
		k.priv.PublicKey.Y.FillBytes(y)
		cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
		if err != nil {
			k.t.Fatal(err)
		}
		out = append(out, cose...)
	}
	return out
}

func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

// challengeOf reads publicKey.challenge from the options JSON.
func challengeOf(t *testing.T, options string) string {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %q: %v", options, err)
	}
	return o.PublicKey.Challenge
}

// create answers navigator.credentials.create for options.
func (k *softKey) create(options string) string {
	var o struct {
		PublicKey struct {
			User struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	_ = json.Unmarshal([]byte(options), &o)
	k.userHandle, _ = b64.DecodeString(o.PublicKey.User.ID)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	if err != nil {
		k.t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(k.clientData("webauthn.create", challengeOf(k.t, options))),
			"attestationObject": b64.EncodeToString(att)}})
	return string(b)
}

// get answers navigator.credentials.get for options with the counter
// count, as the user handle (nil: the registered one).
func (k *softKey) get(options string, count uint32, handle []byte) string {
	k.count = count
	ad := k.authData(false)
	cd := k.clientData("webauthn.get", challengeOf(k.t, options))
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(slices.Clone(ad), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	if handle == nil {
		handle = k.userHandle
	}
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(handle)}})
	return string(b)
}

var (
	createOptionsRE = regexp.MustCompile(`data-passkey-create="([^"]+)"`)
	getOptionsRE    = regexp.MustCompile(`data-passkey-get="([^"]+)"`)
)

func optionsIn(t *testing.T, re *regexp.Regexp, p page) string {
	t.Helper()
	m := re.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no passkey options on the page (status %d):\n%s", p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

// localhostIssuer makes the issuer http://localhost:port (an IP address
// cannot be a WebAuthn RP ID); requests still go to 127.0.0.1.
func localhostIssuer(c *Config) { c.Issuer = strings.Replace(c.Issuer, "127.0.0.1", "localhost", 1) }

// registerPasskey signs username in with the password and registers key
// at the security page.
func registerPasskey(t *testing.T, e *testEnv, username, password string) *softKey {
	t.Helper()
	c := e.browser()
	if p := e.login(c, e.newRequest(), username, password); p.status != http.StatusSeeOther {
		t.Fatalf("password sign-in: %d", p.status)
	}
	sec := e.get(c, securityPath)
	k := newSoftKey(t, e.h.passkeys.Config.RPOrigins[0])
	attestation := k.create(optionsIn(t, createOptionsRE, sec))
	form := url.Values{"csrf_token": {csrf(t, sec)}, "name": {"Laptop"}, "credential": {attestation}}
	if p := e.post(c, securityPath+"/passkey", form); p.status != http.StatusSeeOther {
		t.Fatalf("register: %d\n%s", p.status, p.body)
	}
	// The same attestation again, its challenge used: refused.
	if p := e.post(c, securityPath+"/passkey", form); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, html.EscapeString(en(passkeyExpired))) {
		t.Fatalf("replayed registration: %d", p.status)
	}
	return k
}

// TestPasskeySignInRefusals: a passkey alone signs in (amr hwk+user, the
// phishing-resistant class); refused, audited and throttled are an
// assertion over another ceremony's challenge, a counter that goes back
// (a cloned authenticator), a user handle naming another person, and a
// passkey of another person than the password's at the second factor.
func TestPasskeySignInRefusals(t *testing.T) {
	e := newEnv(t, false, localhostIssuer)
	e.addUser("u-bob", "bob", "plain:bob-password-1", false)
	alice := registerPasskey(t, e, "alice", alicePassword)
	registerPasskey(t, e, "bob", "bob-password-1")
	ctx := context.Background()

	signIn := func(c *http.Client, id string, assertion func(options string) string) page {
		t.Helper()
		lp := e.get(c, e.h.SignInURL(id))
		return e.post(c, passkeyLoginPath, url.Values{"id": {id}, "csrf_token": {csrf(t, lp)},
			"credential": {assertion(optionsIn(t, getOptionsRE, lp))}})
	}

	t.Run("passkey alone", func(t *testing.T) {
		id := e.newRequest()
		p := signIn(e.browser(), id, func(o string) string { return alice.get(o, 5, nil) })
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), callbackPath) {
			t.Fatalf("passkey sign-in: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		req := e.authRequest(id)
		if req.UserID != "u-alice" || acr.Of(req.AMR) != acr.PhishingResistant || !slices.Contains(req.AMR, "hwk") ||
			!slices.Contains(req.AMR, "user") {
			t.Fatalf("authenticated as %q with amr %v", req.UserID, req.AMR)
		}
	})

	tests := []struct {
		name      string
		assertion func(c *http.Client, id string) page
		audit     string
	}{
		{"challenge of another ceremony", func(c *http.Client, id string) page {
			old := e.get(c, e.h.SignInURL(id)) // its challenge is replaced by the next page's
			return signIn(c, id, func(string) string { return alice.get(optionsIn(t, getOptionsRE, old), 6, nil) })
		}, "passkey: assertion not valid"},
		{"sign count goes back", func(c *http.Client, id string) page {
			return signIn(c, id, func(o string) string { return alice.get(o, 3, nil) })
		}, "passkey: signature counter did not grow"},
		{"user handle of another person", func(c *http.Client, id string) page {
			return signIn(c, id, func(o string) string { return alice.get(o, 7, []byte("u-bob")) })
		}, "passkey: assertion not valid"},
		{"another person's passkey after a password", func(c *http.Client, id string) page {
			fp := e.login(c, id, "bob", "bob-password-1") // bob has a passkey: the factor page offers it
			if fp.status != http.StatusSeeOther || !strings.HasPrefix(fp.header.Get("Location"), factorPath) {
				t.Fatalf("bob's password: %d %s", fp.status, fp.header.Get("Location"))
			}
			page := e.get(c, fp.header.Get("Location"))
			return e.post(c, passkeyLoginPath, url.Values{"id": {id}, "csrf_token": {csrf(t, page)},
				"credential": {alice.get(optionsIn(t, getOptionsRE, page), 8, nil)}})
		}, "passkey: credential of another user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := e.newRequest(func(r *storage.AuthRequest) { r.ACR = acr.MFA })
			p := tc.assertion(e.browser(), id)
			if p.status != http.StatusUnauthorized || !strings.Contains(p.body, html.EscapeString(en(passkeyRefused))) {
				t.Fatalf("status %d, want 401 with the refusal\n%s", p.status, p.body)
			}
			if req := e.authRequest(id); req.UserID != "" {
				t.Fatalf("the request was authenticated as %q", req.UserID)
			}
			entries, err := e.store.ListAudit(ctx, storage.AuditFilter{}, 0, 200)
			e.must(err)
			if !slices.ContainsFunc(entries, func(a *storage.AuditEntry) bool { return strings.Contains(a.Detail, tc.audit) }) {
				t.Fatalf("no audit entry with %q", tc.audit)
			}
		})
	}
}
