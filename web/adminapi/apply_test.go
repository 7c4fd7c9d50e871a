package adminapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// withSecret is a client body with a chosen client_secret.
func withSecret(body map[string]any, secret string) map[string]any {
	body["client_secret"] = secret
	return body
}

// TestChosenSecret: client_secret sets a secret the caller chose on
// create and on update, is never echoed, and is refused (422 naming
// client_secret, nothing stored) when it is too short, not visible ASCII
// or for a client without a secret.
func TestChosenSecret(t *testing.T) {
	e := newEnv(t)
	good := "chosen-secret-0123456789-abcdefghijklmnop"
	var c Client
	a := e.call("POST", "/clients", tokWrite, withSecret(webClient("shop"), good)).want(t, http.StatusCreated)
	a.json(t, &c)
	if c.ClientSecret != "" || strings.Contains(string(a.body), good) {
		t.Errorf("create with a chosen secret echoed it: %s", a.body)
	}
	stored, err := e.store.GetClient(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if stored.SecretHash != storage.HashToken(good) {
		t.Error("create: the stored hash is not the chosen secret's")
	}
	other := strings.Repeat("x", 32)
	a = e.call("PATCH", "/clients/shop", tokWrite, map[string]any{"client_secret": other}).want(t, http.StatusOK)
	if strings.Contains(string(a.body), other) {
		t.Errorf("update echoed the secret: %s", a.body)
	}
	if stored, _ = e.store.GetClient(t.Context(), "shop"); stored.SecretHash != storage.HashToken(other) {
		t.Error("update: the stored hash is not the new secret's")
	}
	for _, tc := range []struct {
		name string
		path string
		body map[string]any
	}{
		{"short on create", "/clients", withSecret(webClient("a"), "too-short")},
		{"space on create", "/clients", withSecret(webClient("b"), strings.Repeat("a b", 12))},
		{"too long on update", "/clients/shop", map[string]any{"client_secret": strings.Repeat("z", 513)}},
		{"public client", "/clients", withSecret(map[string]any{"client_id": "spa", "client_name": "SPA",
			"token_endpoint_auth_method": "none", "redirect_uris": []string{"https://spa.example/cb"}}, good)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if tc.path != "/clients" {
				method = "PATCH"
			}
			var p Problem
			e.call(method, tc.path, tokWrite, tc.body).want(t, http.StatusUnprocessableEntity).json(t, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != FieldClientSecret {
				t.Errorf("problem %+v, want one error on client_secret", p)
			}
		})
	}
	if stored, _ = e.store.GetClient(t.Context(), "shop"); stored.SecretHash != storage.HashToken(other) {
		t.Error("a refused secret changed the stored one")
	}
}

// TestGroupFields: description and managed are shown, set on create,
// changed by PATCH (with If-Match) without a rename, and each change
// gives a new ETag.
func TestGroupFields(t *testing.T) {
	e := newEnv(t)
	var g Group
	a := e.call("POST", "/groups", tokWrite, map[string]any{"name": "staff", "description": "Shop staff", "managed": true}).want(t, http.StatusCreated)
	a.json(t, &g)
	if g.Description != "Shop staff" || !g.Managed {
		t.Fatalf("created %+v", g)
	}
	tag := a.Header.Get("ETag")
	e.call("PATCH", "/groups/"+g.ID, tokWrite, map[string]any{"managed": false}, "If-Match", tag).want(t, http.StatusOK).json(t, &g)
	if g.Name != "staff" || g.Description != "Shop staff" || g.Managed {
		t.Errorf("after PATCH managed=false: %+v", g)
	}
	e.call("PATCH", "/groups/"+g.ID, tokWrite, map[string]any{"description": "Stale"}, "If-Match", tag).want(t, http.StatusPreconditionFailed)
	e.call("POST", "/groups", tokWrite, map[string]any{"description": "no name"}).want(t, http.StatusUnprocessableEntity)
	stored, err := e.store.GetGroup(t.Context(), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Description != "Shop staff" || stored.Managed {
		t.Errorf("stored %+v", stored)
	}
	for _, en := range e.audit() {
		if en.Target == "group:"+g.ID && en.Action == "group.update" {
			return
		}
	}
	t.Error("no group.update audit entry")
}

// TestJWKSNull: "jwks": null clears the stored key set (as the document
// says), an absent jwks keeps it.
func TestJWKSNull(t *testing.T) {
	e := newEnv(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	jwks := map[string]any{"keys": []map[string]any{{"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
		"x": b64(pub[1:33]), "y": b64(pub[33:])}}}
	body := webClient("keys")
	body["token_endpoint_auth_method"], body["jwks"] = "private_key_jwt", jwks
	e.call("POST", "/clients", tokWrite, body).want(t, http.StatusCreated)
	e.call("PATCH", "/clients/keys", tokWrite, map[string]any{"client_name": "Keys"}).want(t, http.StatusOK)
	if c, _ := e.store.GetClient(t.Context(), "keys"); c.JWKS == "" {
		t.Fatal("a PATCH without jwks cleared it")
	}
	e.call("PATCH", "/clients/keys", tokWrite, map[string]any{"jwks": nil, "jwks_uri": "https://keys.example/jwks"}).want(t, http.StatusOK)
	if c, _ := e.store.GetClient(t.Context(), "keys"); c.JWKS != "" || c.JWKSURI == "" {
		t.Errorf("after jwks null: jwks %q, jwks_uri %q", c.JWKS, c.JWKSURI)
	}
}
