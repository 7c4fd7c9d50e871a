package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestAuthentication: RFC 6750 §3.1 answers, and no cookie ever counts.
func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, auth string
		status     int
		challenge  string // a part of WWW-Authenticate
	}{
		{"no token", "", 401, `Bearer realm="monban"`},
		{"other scheme", "Basic Y2k6c2VjcmV0", 401, `Bearer realm="monban"`},
		{"empty bearer", "Bearer ", 401, `Bearer realm="monban"`},
		{"invalid token", "Bearer nope", 401, `error="invalid_token"`},
		{"bearer scheme in lower case", "bearer " + tokRead, 200, ""},
		{"DPoP scheme for a bearer token", "DPoP " + tokRead, 401, `error="invalid_token"`},
		{"DPoP-bound token as bearer", "Bearer " + tokDPoP, 401, `error="invalid_token"`},
		{"DPoP-bound token without a checker", "DPoP " + tokDPoP, 401, `error="invalid_token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("GET", "/clients", "", nil, "Authorization", tc.auth,
				"Cookie", "__Host-monban_session=whatever") // a browser session never authorises
			a.want(t, tc.status)
			if tc.status == 200 {
				return
			}
			if got := a.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", got, tc.challenge)
			}
			a.problem(t)
		})
	}
}

// TestScopes: each scope allows what it says, 403 insufficient_scope
// otherwise, and a refused call changes nothing.
func TestScopes(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"read lists clients", tokRead, "GET", "/clients", nil, 200},
		{"read cannot create", tokRead, "POST", "/clients", webClient("r1"), 403},
		{"read reads the audit", tokRead, "GET", "/audit", nil, 200},
		{"clients scope creates clients", tokClients, "POST", "/clients", webClient("c1"), 201},
		{"clients scope cannot read users", tokClients, "GET", "/users", nil, 403},
		{"clients scope cannot rotate keys", tokClients, "POST", "/keys/rotate", nil, 403},
		{"write rotates keys", tokWrite, "POST", "/keys/rotate", nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(tc.method, tc.path, tc.token, tc.body).want(t, tc.status)
			if tc.status != 403 {
				return
			}
			if got := a.Header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) || !strings.Contains(got, "scope=") {
				t.Errorf("WWW-Authenticate %q, want insufficient_scope with the scope", got)
			}
			a.problem(t)
		})
	}
	if _, err := e.store.GetClient(t.Context(), "r1"); err == nil {
		t.Error("a read-only token created a client")
	}
	if len(e.keys.calls) != 1 {
		t.Errorf("keys rotated %d times, want 1 (only the write token)", len(e.keys.calls))
	}
}

// TestAuditActor: every change is recorded with the service account as
// actor, in the same transaction as the change.
func TestAuditActor(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/clients", tokClients, webClient("app")).want(t, http.StatusCreated)
	es := e.audit()
	if len(es) != 1 {
		t.Fatalf("%d audit entries, want 1", len(es))
	}
	got := es[0]
	if got.Action != "client.create" || got.Actor != "deployer" || got.ActorID != "client:deployer" || got.Target != "client:app" ||
		got.Detail != "admin API" || got.After == "" || strings.Contains(got.After, `"SecretHash":"`+"[redacted]"+`"`) == false {
		t.Errorf("audit entry %+v", got)
	}
	// A refused change writes no entry.
	e.call("POST", "/clients", tokClients, map[string]any{"client_id": "bad"}).want(t, 422)
	if n := len(e.audit()); n != 1 {
		t.Errorf("%d audit entries after a refused change, want 1", n)
	}
}

// proofChecker is a DPoPChecker that accepts the proof "good" for the key
// "thumb", asks for a nonce on "stale", and fails on "broken".
type proofChecker struct{}

func (proofChecker) CheckProof(r *http.Request, token, jkt string) error {
	switch p := r.Header.Get("DPoP"); {
	case p == "good" && jkt == "thumb" && token == tokDPoP:
		return nil
	case p == "stale":
		return &DPoPError{Code: "use_dpop_nonce", Description: "a DPoP nonce from the server is required", Nonce: "n-1"}
	case p == "broken":
		return errors.New("store down")
	}
	return &DPoPError{Code: "invalid_dpop_proof", Description: "the DPoP proof is invalid"}
}

// TestDPoPAuthentication: with a DPoPChecker, a DPoP-bound token works
// only with the DPoP scheme and an accepted proof (RFC 9449 §7.1); a
// refusal is 401 with a DPoP challenge naming the checker's code (and
// DPoP-Nonce for use_dpop_nonce, §9); a bearer token still works as one.
func TestDPoPAuthentication(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DPoP = proofChecker{} })
	for _, tc := range []struct {
		name, auth, proof string
		status            int
		challenge, nonce  string
	}{
		{"bound token with its proof", "DPoP " + tokDPoP, "good", 200, "", ""},
		{"bound token as bearer", "Bearer " + tokDPoP, "good", 401, `Bearer realm="monban", error="invalid_token"`, ""},
		{"bound token without a proof", "DPoP " + tokDPoP, "", 401, `DPoP realm="monban", error="invalid_dpop_proof"`, ""},
		{"bound token with a bad proof", "DPoP " + tokDPoP, "forged", 401, `DPoP realm="monban", error="invalid_dpop_proof"`, ""},
		{"proof without the nonce", "DPoP " + tokDPoP, "stale", 401, `DPoP realm="monban", error="use_dpop_nonce"`, "n-1"},
		{"checker failure", "DPoP " + tokDPoP, "broken", 503, "", ""},
		{"bearer token as bearer", "Bearer " + tokRead, "", 200, "", ""},
		{"bearer token with the DPoP scheme", "DPoP " + tokRead, "good", 401, `DPoP realm="monban", error="invalid_token"`, ""},
		{"no token: both schemes offered", "", "", 401, `Bearer realm="monban"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("GET", "/clients", "", nil, "Authorization", tc.auth, "DPoP", tc.proof)
			a.want(t, tc.status)
			if tc.status == 200 {
				return
			}
			a.problem(t)
			if got := a.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want it to contain %q", got, tc.challenge)
			}
			if got := a.Header.Get("DPoP-Nonce"); got != tc.nonce {
				t.Errorf("DPoP-Nonce %q, want %q", got, tc.nonce)
			}
			if tc.auth == "" {
				if got := a.Header.Values("WWW-Authenticate"); len(got) != 2 || got[1] != `DPoP realm="monban"` {
					t.Errorf("challenges %q, want Bearer and DPoP", got)
				}
			}
		})
	}
}
