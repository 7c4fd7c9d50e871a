// Package password hashes user passwords with argon2id and verifies them.
//
// Hashes are PHC strings (https://github.com/P-H-C/phc-string-format):
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in standard base64 without padding. A Hasher bounds how
// many hashes run at once, because each one holds Params.Memory KiB: without
// a bound, a burst of logins could exhaust the process's memory.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// MaxLength is the longest password accepted, in bytes. Longer input is
// rejected, never truncated.
const MaxLength = 1024

var (
	// ErrPasswordTooLong means the password is longer than MaxLength bytes.
	// It is returned before any hashing work is done.
	ErrPasswordTooLong = errors.New("password: longer than 1024 bytes")
	// ErrInvalidHash means a stored hash is not a well-formed argon2id PHC
	// string, or its parameters are outside the accepted limits.
	ErrInvalidHash = errors.New("password: invalid argon2id hash")
)

// Limits on parameters, checked for the Hasher's own Params and for every
// stored hash before any work is done, so a corrupted or hostile row cannot
// make Verify allocate gigabytes or spin for minutes.
const (
	maxMemory     = 1 << 20 // KiB (1 GiB)
	maxIterations = 20
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
)

// Params are argon2id cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32 // passes over the memory (t)
	Parallelism uint8  // lanes (p)
	SaltLen     uint32 // bytes of random salt
	KeyLen      uint32 // bytes of derived key
}

// DefaultParams is the OWASP Password Storage Cheat Sheet minimum for
// argon2id: 19 MiB, two iterations, one lane, a 16-byte salt and a 32-byte
// key.
var DefaultParams = Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p is within the limits this package accepts:
// Iterations 1–20, Parallelism ≥ 1, Memory from 8×Parallelism KiB to 1 GiB,
// SaltLen 8–64 bytes and KeyLen 16–64 bytes.
func (p Params) Validate() error {
	if err := p.validateCost(); err != nil {
		return err
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		return fmt.Errorf("password: salt length %d outside %d–%d bytes", p.SaltLen, minSaltLen, maxSaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return fmt.Errorf("password: key length %d outside %d–%d bytes", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

func (p Params) validateCost() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("password: iterations %d outside 1–%d", p.Iterations, maxIterations)
	case p.Parallelism < 1:
		return errors.New("password: parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemory:
		return fmt.Errorf("password: memory %d KiB outside %d–%d KiB", p.Memory, 8*uint32(p.Parallelism), maxMemory)
	}
	return nil
}

// weakerThan reports whether p costs less than q in any dimension that
// matters for an attacker: memory, iterations, salt or key length.
func (p Params) weakerThan(q Params) bool {
	return p.Memory < q.Memory || p.Iterations < q.Iterations || p.SaltLen < q.SaltLen || p.KeyLen < q.KeyLen
}

// Hasher hashes and verifies passwords with fixed Params. It is safe for
// concurrent use; at most maxConcurrent hash computations run at once, and
// further callers wait for a free slot.
type Hasher struct {
	params Params
	sem    chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher using p for new hashes, running at most
// maxConcurrent computations at once (GOMAXPROCS if maxConcurrent < 1). It
// panics if p is invalid (see Params.Validate): parameters are fixed by the
// program, not by input.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent < 1 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: p, sem: make(chan struct{}, maxConcurrent)}
}

// Params returns the parameters the Hasher uses for new hashes.
func (h *Hasher) Params() Params { return h.params }

// derive runs argon2id while holding a semaphore slot.
func (h *Hasher) derive(password string, salt []byte, p Params) []byte {
	h.sem <- struct{}{}
	defer func() { <-h.sem }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
}

// Hash returns the PHC string of password under a new random salt. The
// password is used exactly as given: no trimming, normalization or case
// folding. ErrPasswordTooLong if it is longer than MaxLength bytes.
func (h *Hasher) Hash(password string) (string, error) {
	if len(password) > MaxLength {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+).
	return encode(h.params, salt, h.derive(password, salt, h.params)), nil
}

// Verify reports whether password matches the PHC string phc, comparing in
// constant time. needsRehash is true when the password matched and the
// stored parameters are weaker than the Hasher's (less memory, fewer
// iterations, shorter salt or key): the caller should then store a new Hash.
// A malformed hash, or one whose parameters are outside the limits of
// Params.Validate, yields an error wrapping ErrInvalidHash without any
// hashing; a password longer than MaxLength yields ErrPasswordTooLong.
// An imported foreign hash (bcrypt, PBKDF2-SHA256: foreign.go) is
// verified too, and needsRehash is then true whenever it matched.
func (h *Hasher) Verify(password, phc string) (ok, needsRehash bool, err error) {
	if len(password) > MaxLength {
		return false, false, ErrPasswordTooLong
	}
	if ok, handled, err := h.verifyForeign(password, phc); handled {
		return ok, ok, err
	}
	p, salt, key, err := decode(phc)
	if err != nil {
		return false, false, err
	}
	got := h.derive(password, salt, p)
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p.weakerThan(h.params), nil
}

// VerifyDummy does the work of one Verify against a fixed hash with the
// Hasher's parameters and discards the result. Call it when the username is
// unknown, so that the response takes as long as for a wrong password and
// does not reveal which usernames exist.
func (h *Hasher) VerifyDummy(password string) {
	h.dummyOnce.Do(func() {
		// No password derives an all-zero key in practice; the salt is fixed
		// because the result is never stored.
		salt := make([]byte, h.params.SaltLen)
		for i := range salt {
			salt[i] = byte(i + 1)
		}
		h.dummy = encode(h.params, salt, make([]byte, h.params.KeyLen))
	})
	_, _, _ = h.Verify(password, h.dummy)
}

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses an argon2id PHC string strictly: exactly the fields encode
// writes, in its order, canonical decimal numbers and canonical unpadded
// base64. Its parameters are checked before the caller spends any work.
func decode(phc string) (p Params, salt, key []byte, err error) {
	fail := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrInvalidHash, why)
	}
	fields := strings.Split(phc, "$")
	if len(fields) != 6 || fields[0] != "" {
		return fail("not a PHC string with five fields")
	}
	if fields[1] != "argon2id" {
		return fail("algorithm is not argon2id")
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return fail("version is not 19")
	}
	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return fail("parameters are not m,t,p")
	}
	var vals [3]uint32
	for i, name := range []string{"m", "t", "p"} {
		num, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return fail("parameters are not m,t,p")
		}
		v, ok := parseDecimal(num)
		if !ok {
			return fail("parameter " + name + " is not a canonical decimal number")
		}
		vals[i] = v
	}
	if vals[2] > 255 {
		return fail("parallelism above 255")
	}
	p = Params{Memory: vals[0], Iterations: vals[1], Parallelism: uint8(vals[2])}
	if err := p.validateCost(); err != nil {
		return fail(err.Error())
	}
	var ok bool
	salt, ok = decodeBase64(fields[4])
	if !ok || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return fail("salt is not 8–64 bytes of canonical unpadded base64")
	}
	key, ok = decodeBase64(fields[5])
	if !ok || len(key) < minKeyLen || len(key) > maxKeyLen {
		return fail("hash is not 16–64 bytes of canonical unpadded base64")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// parseDecimal accepts 1 to 10 ASCII digits without a leading zero, as the
// PHC format requires, fitting in a uint32.
func parseDecimal(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// decodeBase64 decodes s only if s is exactly the canonical encoding of the
// result (the decoder alone would skip line breaks).
func decodeBase64(s string) ([]byte, bool) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}
