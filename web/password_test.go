package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage/password"
)

// The argon2id Hasher satisfies PasswordHasher.
var _ PasswordHasher = (*password.Hasher)(nil)

// TestLoginWithArgon2id runs sign-in against the real hasher: failures look
// alike, success redirects, and a hash with weaker parameters is upgraded.
func TestLoginWithArgon2id(t *testing.T) {
	hasher := password.NewHasher(password.DefaultParams, 2)
	e := newEnv(t, false, func(c *Config) { c.Hasher = hasher })
	weak := password.NewHasher(password.Params{Memory: 8192, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	weakHash, err := weak.Hash("a long passphrase for bob")
	e.must(err)
	e.addUser("u-bob", "bob", weakHash, false)
	goodHash, err := hasher.Hash(alicePassword)
	e.must(err)
	e.addUser("u-carol", "carol", goodHash, false)

	c := e.browser()
	id := e.newRequest()
	token := csrf(t, e.get(c, e.h.SignInURL(id)))
	tests := []struct {
		name, username, password string
		wantStatus               int
	}{
		{name: "unknown user", username: "nobody", password: "whatever", wantStatus: http.StatusUnauthorized},
		{name: "wrong password", username: "carol", password: "whatever", wantStatus: http.StatusUnauthorized},
		{name: "right password, outdated hash", username: "bob", password: "a long passphrase for bob", wantStatus: http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.post(c, "/login", url.Values{"id": {id}, "csrf_token": {token}, "username": {tt.username}, "password": {tt.password}})
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d\n%s", got.status, tt.wantStatus, got.body)
			}
		})
	}
	bob, err := e.store.GetUser(context.Background(), "u-bob")
	e.must(err)
	if bob.PasswordHash == weakHash || !strings.HasPrefix(bob.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("outdated hash not upgraded: %s", bob.PasswordHash)
	}
	if ok, rehash, err := hasher.Verify("a long passphrase for bob", bob.PasswordHash); !ok || rehash || err != nil {
		t.Errorf("upgraded hash does not verify: %v %v %v", ok, rehash, err)
	}
}
