package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Foreign password hashes: what other identity systems export, accepted
// by "monban user import" and verified at sign-in, where Verify reports
// needsRehash so the caller replaces them with an argon2id hash:
//   - bcrypt, "$2a$", "$2b$" or "$2y$" (Keycloak, Auth0, Dex; the three
//     prefixes are the same algorithm for passwords of at most 72 bytes);
//   - PBKDF2-HMAC-SHA256 in Django's form
//     "pbkdf2_sha256$ITERATIONS$SALT$HASH" (SALT the raw salt text, HASH
//     standard base64) or in the PHC/passlib form
//     "$pbkdf2-sha256$[i=]ITERATIONS$SALT$HASH" (SALT and HASH base64,
//     standard or passlib's "." for "+", padding optional).
//
// Iterations must be between MinPBKDF2Iterations and MaxPBKDF2Iterations;
// the derived key between 16 and 64 bytes.

// PBKDF2 iteration bounds of an accepted hash: below the minimum a hash
// is too weak to trust even once; above the maximum, verifying it would
// let one request burn seconds of CPU.
const (
	MinPBKDF2Iterations = 1000
	MaxPBKDF2Iterations = 5_000_000
)

// pbkdf2Hash is a parsed PBKDF2-SHA256 hash.
type pbkdf2Hash struct {
	iterations int
	salt, key  []byte
}

// IsForeign reports whether hash is one of the foreign formats (it may
// still be malformed: CheckImportedHash says).
func IsForeign(hash string) bool {
	return isBcrypt(hash) || strings.HasPrefix(hash, "pbkdf2_sha256$") || strings.HasPrefix(hash, "$pbkdf2-sha256$")
}

func isBcrypt(h string) bool {
	return strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")
}

// CheckImportedHash reports whether hash is a password hash monban can
// verify: its own argon2id PHC string (within Params limits) or a foreign
// format above, well formed. It does no hashing.
func CheckImportedHash(hash string) error {
	switch {
	case isBcrypt(hash):
		cost, err := bcrypt.Cost([]byte(normalizeBcrypt(hash)))
		if err != nil || len(hash) != 60 {
			return fmt.Errorf("%w: not a bcrypt hash", ErrInvalidHash)
		}
		if cost > 16 {
			return fmt.Errorf("%w: bcrypt cost %d is above 16", ErrInvalidHash, cost)
		}
		return nil
	case IsForeign(hash):
		_, err := parsePBKDF2(hash)
		return err
	}
	_, _, _, err := decode(hash)
	return err
}

// normalizeBcrypt rewrites $2b$ and $2y$ as $2a$, the prefix
// x/crypto/bcrypt reads. The variants differ only in how historic
// implementations handled passwords longer than bcrypt's 72-byte limit;
// verifyForeign treats such a password as not matching.
func normalizeBcrypt(h string) string { return "$2a$" + h[4:] }

func parsePBKDF2(h string) (*pbkdf2Hash, error) {
	bad := func(why string) error { return fmt.Errorf("%w: PBKDF2-SHA256: %s", ErrInvalidHash, why) }
	var iter, salt, key string
	var saltBytes []byte
	if rest, ok := strings.CutPrefix(h, "pbkdf2_sha256$"); ok { // Django
		f := strings.Split(rest, "$")
		if len(f) != 3 {
			return nil, bad("want pbkdf2_sha256$ITERATIONS$SALT$HASH")
		}
		iter, salt, key = f[0], f[1], f[2]
		saltBytes = []byte(salt)
	} else {
		f := strings.Split(strings.TrimPrefix(h, "$pbkdf2-sha256$"), "$")
		if len(f) != 3 {
			return nil, bad("want $pbkdf2-sha256$i=ITERATIONS$SALT$HASH")
		}
		iter, salt, key = strings.TrimPrefix(f[0], "i="), f[1], f[2]
		var err error
		if saltBytes, err = loseB64(salt); err != nil {
			return nil, bad("the salt is not base64")
		}
	}
	n, err := strconv.Atoi(iter)
	if err != nil || n < MinPBKDF2Iterations || n > MaxPBKDF2Iterations {
		return nil, bad(fmt.Sprintf("iterations must be a number from %d to %d", MinPBKDF2Iterations, MaxPBKDF2Iterations))
	}
	k, err := loseB64(key)
	if err != nil || len(k) < 16 || len(k) > 64 {
		return nil, bad("the hash is not base64 of 16 to 64 bytes")
	}
	if len(saltBytes) == 0 {
		return nil, bad("the salt is empty")
	}
	return &pbkdf2Hash{iterations: n, salt: saltBytes, key: k}, nil
}

// loseB64 decodes standard base64, padded or not, with passlib's "."
// for "+".
func loseB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.DecodeString(s)
}

// verifyForeign verifies password against a foreign hash. handled is
// false when hash is not foreign (argon2id: the caller verifies it).
func (h *Hasher) verifyForeign(password, hash string) (ok, handled bool, err error) {
	switch {
	case isBcrypt(hash):
		if err := CheckImportedHash(hash); err != nil {
			return false, true, err
		}
		if len(password) > 72 { // bcrypt's limit: x/crypto refuses, others truncated
			return false, true, nil
		}
		h.sem <- struct{}{}
		err := bcrypt.CompareHashAndPassword([]byte(normalizeBcrypt(hash)), []byte(password))
		<-h.sem
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, true, nil
		}
		return false, true, fmt.Errorf("%w: %v", ErrInvalidHash, err)
	case IsForeign(hash):
		p, err := parsePBKDF2(hash)
		if err != nil {
			return false, true, err
		}
		h.sem <- struct{}{}
		got, err := pbkdf2.Key(sha256.New, password, p.salt, p.iterations, len(p.key))
		<-h.sem
		if err != nil {
			return false, true, fmt.Errorf("%w: %v", ErrInvalidHash, err)
		}
		return subtle.ConstantTimeCompare(got, p.key) == 1, true, nil
	}
	return false, false, nil
}
