package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/storage"
)

// demoRP is a tiny relying party for `monban demo`: it signs in through
// the provider (code flow with PKCE, coreos/go-oidc + x/oauth2, as real
// apps do), shows the ID token's claims, refreshes, logs out with
// RP-Initiated Logout, and ends its own session when a back-channel logout
// token arrives (Back-Channel Logout 1.0 §2.6). It keeps its sessions in
// memory, behind a random cookie. It is a demonstration, not a library.
type demoRP struct {
	name, issuer, base string
	cookie             string // per app: cookies ignore ports, so apps on one host must not share a name
	oauth              oauth2.Config
	verifier           *oidc.IDTokenVerifier
	logoutVerifier     *oidc.IDTokenVerifier

	mu       sync.Mutex
	pending  map[string]demoPending // by state
	sessions map[string]*demoSession
}

type demoPending struct{ nonce, verifier string }

type demoSession struct {
	token   *oauth2.Token
	idToken string
	claims  map[string]any
	sid     string
}

// newDemoRP discovers the provider and returns the app for client id.
func newDemoRP(ctx context.Context, name, issuer, base, clientID, secret string) (*demoRP, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("demo app %s: discovery: %w", name, err)
	}
	return &demoRP{name: name, issuer: issuer, base: base, cookie: "demo_session_" + clientID,
		oauth: oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: base + "/callback",
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}},
		verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		// Logout tokens carry no nonce and may outlive their exp check
		// window only by seconds; go-oidc checks iss, aud and signature.
		logoutVerifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		pending:        map[string]demoPending{}, sessions: map[string]*demoSession{},
	}, nil
}

// handler routes the app's pages.
func (d *demoRP) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", d.home)
	mux.HandleFunc("GET /login", d.login)
	mux.HandleFunc("GET /callback", d.callback)
	mux.HandleFunc("POST /refresh", d.refresh)
	mux.HandleFunc("POST /logout", d.logout)
	mux.HandleFunc("POST /backchannel-logout", d.backchannel)
	return mux
}

func (d *demoRP) session(r *http.Request) (string, *demoSession) {
	c, err := r.Cookie(d.cookie)
	if err != nil {
		return "", nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return c.Value, d.sessions[c.Value]
}

func (d *demoRP) home(w http.ResponseWriter, r *http.Request) {
	_, s := d.session(r)
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><meta charset=utf-8><title>%s</title><body style=\"font-family:system-ui;max-width:40rem;margin:2rem auto\"><h1>%s</h1>", html.EscapeString(d.name), html.EscapeString(d.name))
	if s == nil {
		b.WriteString(`<p>You are not signed in to this app.</p><p><a href="/login">Sign in with monban</a></p>`)
	} else {
		b.WriteString(`<p>Signed in. The ID token says:</p><table>`)
		keys := make([]string, 0, len(s.claims))
		for k := range s.claims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "<tr><th align=left>%s</th><td>%s</td></tr>", html.EscapeString(k), html.EscapeString(fmt.Sprint(s.claims[k])))
		}
		fmt.Fprintf(&b, `</table><p>Access token expires %s.</p>`, html.EscapeString(s.token.Expiry.Format(time.RFC3339)))
		b.WriteString(`<form method=post action=/refresh><button>Refresh tokens</button></form><form method=post action=/logout><button>Sign out (everywhere)</button></form>`)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(b.String()))
}

func (d *demoRP) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := storage.NewToken(), storage.NewToken(), oauth2.GenerateVerifier()
	d.mu.Lock()
	d.pending[state] = demoPending{nonce: nonce, verifier: verifier}
	d.mu.Unlock()
	http.Redirect(w, r, d.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

func (d *demoRP) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d.mu.Lock()
	p, ok := d.pending[q.Get("state")]
	delete(d.pending, q.Get("state"))
	d.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "unknown or used state: start again at /", http.StatusBadRequest)
		return
	case q.Get("iss") != d.issuer: // RFC 9207 mix-up defence
		http.Error(w, "the response did not come from our provider", http.StatusBadRequest)
		return
	case q.Get("error") != "":
		http.Error(w, "sign-in failed: "+q.Get("error"), http.StatusBadRequest)
		return
	}
	tok, err := d.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		http.Error(w, "code exchange failed", http.StatusBadGateway)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := d.verifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != p.nonce {
		http.Error(w, "invalid ID token", http.StatusBadGateway)
		return
	}
	var claims map[string]any
	_ = idt.Claims(&claims)
	sid, _ := claims["sid"].(string)
	id := storage.NewToken()
	d.mu.Lock()
	d.sessions[id] = &demoSession{token: tok, idToken: raw, claims: claims, sid: sid}
	d.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: d.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *demoRP) refresh(w http.ResponseWriter, r *http.Request) {
	_, s := d.session(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	tok, err := d.oauth.TokenSource(r.Context(), &oauth2.Token{RefreshToken: s.token.RefreshToken}).Token()
	if err != nil {
		http.Error(w, "refresh failed: the grant was revoked or expired; sign in again", http.StatusUnauthorized)
		return
	}
	d.mu.Lock()
	s.token = tok
	d.mu.Unlock()
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the local session and sends the browser to the provider's
// end_session endpoint (RP-Initiated Logout 1.0 §2), which ends the SSO
// session and tells the other apps through back-channel logout.
func (d *demoRP) logout(w http.ResponseWriter, r *http.Request) {
	id, s := d.session(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.mu.Lock()
	delete(d.sessions, id)
	d.mu.Unlock()
	v := url.Values{"id_token_hint": {s.idToken}, "post_logout_redirect_uri": {d.base + "/"}, "state": {storage.NewToken()}}
	http.Redirect(w, r, d.issuer+"/end_session?"+v.Encode(), http.StatusSeeOther)
}

// backchannel receives a logout token (Back-Channel Logout 1.0 §2.5, §2.6):
// verified against the provider's keys, then every local session with its
// sid ends.
func (d *demoRP) backchannel(w http.ResponseWriter, r *http.Request) {
	raw := r.PostFormValue("logout_token")
	lt, err := d.logoutVerifier.Verify(r.Context(), raw)
	if err != nil {
		http.Error(w, "invalid logout token", http.StatusBadRequest)
		return
	}
	var c struct {
		SID    string                     `json:"sid"`
		Nonce  string                     `json:"nonce"`
		Events map[string]json.RawMessage `json:"events"`
	}
	if lt.Claims(&c) != nil || c.Nonce != "" || c.Events["http://schemas.openid.net/event/backchannel-logout"] == nil {
		http.Error(w, "not a logout token", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	for id, s := range d.sessions {
		if s.sid == c.SID || (c.SID == "" && s.claims["sub"] == lt.Subject) {
			delete(d.sessions, id)
		}
	}
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}
