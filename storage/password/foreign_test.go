package password_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/monban-idp/monban/storage/password"
)

func TestVerifyForeignHashes(t *testing.T) {
	const pw = "imported password 123"
	bc, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := pbkdf2.Key(sha256.New, pw, []byte("saltsalt"), 1000, 32)
	django := "pbkdf2_sha256$1000$saltsalt$" + base64.StdEncoding.EncodeToString(key)
	phc := "$pbkdf2-sha256$i=1000$" + base64.RawStdEncoding.EncodeToString([]byte("saltsalt")) + "$" + base64.RawStdEncoding.EncodeToString(key)
	h := password.NewHasher(password.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	tests := []struct {
		name, hash string
	}{
		{"bcrypt 2a", string(bc)},
		{"bcrypt 2b", "$2b$" + string(bc)[4:]},
		{"bcrypt 2y", "$2y$" + string(bc)[4:]},
		{"django pbkdf2", django},
		{"phc pbkdf2", phc},
		{"passlib pbkdf2 without i=", "$pbkdf2-sha256$1000$" + base64.RawStdEncoding.EncodeToString([]byte("saltsalt")) + "$" + base64.RawStdEncoding.EncodeToString(key)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := password.CheckImportedHash(tc.hash); err != nil {
				t.Fatalf("CheckImportedHash: %v", err)
			}
			ok, rehash, err := h.Verify(pw, tc.hash)
			if !ok || !rehash || err != nil {
				t.Errorf("right password: ok %v rehash %v err %v, want ok and rehash", ok, rehash, err)
			}
			ok, rehash, err = h.Verify(pw+"x", tc.hash)
			if ok || rehash || err != nil {
				t.Errorf("wrong password: ok %v rehash %v err %v", ok, rehash, err)
			}
		})
	}
}

func TestCheckImportedHashRefuses(t *testing.T) {
	for _, tc := range []struct{ name, hash string }{
		{"empty", ""},
		{"md5", "5f4dcc3b5aa765d61d8327deb882cf99"},
		{"truncated bcrypt", "$2b$10$abc"},
		{"pbkdf2 too few iterations", "pbkdf2_sha256$10$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		{"pbkdf2 too many iterations", "pbkdf2_sha256$" + strconv.Itoa(password.MaxPBKDF2Iterations+1) + "$salt$" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		{"pbkdf2 short key", "pbkdf2_sha256$1000$salt$AAAA"},
		{"phc pbkdf2 missing part", "$pbkdf2-sha256$i=1000$c2FsdA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := password.CheckImportedHash(tc.hash); !errors.Is(err, password.ErrInvalidHash) {
				t.Errorf("CheckImportedHash(%q) = %v, want ErrInvalidHash", tc.hash, err)
			}
		})
	}
}
