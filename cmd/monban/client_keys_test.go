package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// TestClientPrivateKeyJWTFlags (issue 19): `client add|update
// --auth-method private_key_jwt` with --jwks-file or --jwks-uri stores
// the keys and no secret; bad key sets are refused under their flag.
func TestClientPrivateKeyJWTFlags(t *testing.T) {
	env, st := dbEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}})
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k1"}}})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubFile, privFile, junk := write("pub.json", pub), write("priv.json", priv), write("junk.json", []byte("{"))
	base := []string{"client", "add", "--name", "Svc", "--redirect-uri", "https://svc.example/cb", "--auth-method", "private_key_jwt"}

	r := mustRun(t, env, "", append(base, "--id", "svc1", "--jwks-file", pubFile)...)
	c, err := st.GetClient(t.Context(), "svc1")
	if err != nil || c.AuthMethod != storage.AuthMethodPrivateKeyJWT || c.SecretHash != "" || c.JWKS != string(pub) ||
		strings.Contains(r.stdout, "secret:") {
		t.Fatalf("client %+v (%v), output %q", c, err, r.stdout)
	}
	mustRun(t, env, "", append(base, "--id", "svc2", "--jwks-uri", "https://svc.example/jwks.json")...)
	if c, _ := st.GetClient(t.Context(), "svc2"); c.JWKSURI != "https://svc.example/jwks.json" || c.SecretHash != "" {
		t.Errorf("jwks_uri client %+v", c)
	}
	// A secret client switched to private_key_jwt loses its secret.
	mustRun(t, env, "", "client", "add", "--id", "svc3", "--name", "S", "--redirect-uri", "https://svc.example/cb")
	mustRun(t, env, "", "client", "update", "svc3", "--auth-method", "private_key_jwt", "--jwks-file", pubFile)
	if c, _ := st.GetClient(t.Context(), "svc3"); c.SecretHash != "" || c.JWKS == "" {
		t.Errorf("switched client %+v", c)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no-keys", append(base, "--id", "x1"), "--jwks-file: a private_key_jwt client needs its public keys"},
		{"both", append(base, "--id", "x2", "--jwks-file", pubFile, "--jwks-uri", "https://svc.example/j"), "not both"},
		{"private-key", append(base, "--id", "x3", "--jwks-file", privFile), "is a private key"},
		{"not-json", append(base, "--id", "x4", "--jwks-file", junk), "not a JSON Web Key Set"},
		{"http-uri", append(base, "--id", "x5", "--jwks-uri", "http://svc.example/j"), "--jwks-uri"},
		{"keys-for-a-secret-client", []string{"client", "add", "--id", "x6", "--name", "S", "--redirect-uri",
			"https://svc.example/cb", "--jwks-file", pubFile}, "only for clients that authenticate with private_key_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, env, "", tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
