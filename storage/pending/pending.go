package pending

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Prefix starts every sealed value of this format version; a value with
// another prefix is not one (IsSealed) or is from another version.
const Prefix = "p1."

// MaxPlaintext bounds a request's encoding. The authorization endpoint's
// caps (state 2048 bytes, nonce 512, login_hint 256, a registered
// redirect URI 2048, a client ID 100 characters, eight ui_locales, every
// requestable claim, an acr and a dpop_jkt) keep every request it accepts
// below it: such a request encodes to 5 656 bytes (5 623 without the
// dpop_jkt of RFC 9449 §10, for which the bound grew from 5632).
const MaxPlaintext = 5696

// MaxSealedLen is the length of the longest value Seal returns: the prefix
// and the base64url text of the nonce, a MaxPlaintext encoding and the tag.
// It is 7636 bytes: with "GET /login?id=" it fits an 8 KiB request line
// (nginx's default large_client_header_buffers) and half of serve's
// 16 KiB header limit.
const MaxSealedLen = len(Prefix) + (nonceSize+MaxPlaintext+tagSize)*4/3 + 1

const (
	nonceSize = 12
	tagSize   = 16
	// KeySize is the length of a Sealer's key (AES-256).
	KeySize = 32
)

// Why Open refused a value. Each is an Error's Reason; match them with
// errors.Is.
var (
	// ErrMalformed: not a sealed value of this version (wrong prefix, bad
	// base64, too short or too long).
	ErrMalformed = errors.New("pending: malformed sealed request")
	// ErrForged: the GCM tag does not verify: tampered with, or sealed
	// with another key (another deployment, a rotated secret).
	ErrForged = errors.New("pending: sealed request does not verify")
	// ErrExpired: authentic, but its ExpiresAt has passed.
	ErrExpired = errors.New("pending: sealed request expired")
	// ErrTooLarge: Seal was given a request whose encoding exceeds
	// MaxPlaintext.
	ErrTooLarge = errors.New("pending: request too large to seal")
	// ErrUnsealable: Seal was given a request with a requested claim
	// that is not one of storage.RequestableClaims, or a DPoPJKT that is
	// not the base64url text of a SHA-256 thumbprint.
	ErrUnsealable = errors.New("pending: request has a claim or dpop_jkt that cannot be sealed")
)

// Error is Open's and Seal's error: Reason is one of the sentinels above,
// Err an optional cause (for the log only).
type Error struct {
	Reason error
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %v", e.Reason, e.Err)
	}
	return e.Reason.Error()
}

// Unwrap returns the reason and the cause, so errors.Is matches either.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Reason, e.Err}
	}
	return []error{e.Reason}
}

// Sealer seals and opens pending authorization requests. It is safe for
// concurrent use. Every replica behind one issuer needs the same key.
type Sealer struct {
	box box
	now func() time.Time
}

// New returns a Sealer with key (KeySize bytes, for this purpose only)
// and clock now (nil: time.Now).
func New(key []byte, now func() time.Time) (*Sealer, error) {
	b, err := newBox(key, Prefix, MaxSealedLen)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Sealer{box: b, now: now}, nil
}

// box is an AES-256-GCM key for the values of one prefix, which is the
// additional data of every sealing: a value sealed for one prefix never
// opens as another's, even under the same key.
type box struct {
	aead   cipher.AEAD
	prefix string
	maxLen int // the longest value open accepts
}

func newBox(key []byte, prefix string, maxLen int) (box, error) {
	if len(key) != KeySize {
		return box{}, fmt.Errorf("pending: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return box{}, fmt.Errorf("pending: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return box{}, fmt.Errorf("pending: %w", err)
	}
	return box{aead: aead, prefix: prefix, maxLen: maxLen}, nil
}

// seal returns the prefix and the base64url text of a random nonce and
// plain's sealing.
func (b box) seal(plain []byte) string {
	enc := base64.RawURLEncoding
	n := nonceSize + len(plain) + tagSize
	text := len(b.prefix) + enc.EncodedLen(n)
	out := make([]byte, text+n) // the text, then the raw bytes it encodes
	raw := out[text : text+nonceSize]
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (Go 1.24+)
	raw = b.aead.Seal(raw, raw, plain, []byte(b.prefix))
	copy(out, b.prefix)
	enc.Encode(out[len(b.prefix):text], raw)
	return string(out[:text])
}

// open returns the plaintext of a value seal returned; its errors are
// *Error with Reason ErrMalformed or ErrForged. Only the one text seal
// writes for a sealing opens: Go's base64 decoder would skip CR and LF
// and (unless strict) ignore the unused low bits of the last character,
// so the same sealing could be presented under many texts.
func (b box) open(sealed string) ([]byte, error) {
	if !strings.HasPrefix(sealed, b.prefix) || len(sealed) > b.maxLen || !base64URL(sealed[len(b.prefix):]) {
		return nil, &Error{Reason: ErrMalformed}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed[len(b.prefix):])
	if err != nil {
		return nil, &Error{Reason: ErrMalformed, Err: err}
	}
	if len(raw) < nonceSize+tagSize {
		return nil, &Error{Reason: ErrMalformed}
	}
	plain, err := b.aead.Open(raw[nonceSize:nonceSize], raw[:nonceSize], raw[nonceSize:], []byte(b.prefix)) // in place
	if err != nil {
		return nil, &Error{Reason: ErrForged}
	}
	return plain, nil
}

// base64URL reports whether s holds only characters of the base64url
// alphabet (RFC 4648 §5), no padding.
func base64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// IsSealed reports whether id has the form of a sealed value (it may
// still fail to open), as opposed to the id of a stored request.
func IsSealed(id string) bool { return strings.HasPrefix(id, Prefix) }

// Seal returns r's sealed value. Only the fields an unauthenticated
// request has are kept (see encode.go); times are kept to the
// microsecond, as PostgreSQL keeps them. An error wraps ErrTooLarge when
// the encoding would exceed MaxPlaintext, ErrUnsealable for a requested
// claim outside storage.RequestableClaims or a malformed DPoPJKT.
func (s *Sealer) Seal(r *storage.AuthRequest) (string, error) {
	plain, err := encode(r)
	if err != nil {
		return "", err
	}
	return s.box.seal(plain), nil
}

// Open checks and decodes a sealed value. Its errors are *Error with
// Reason ErrMalformed, ErrForged or ErrExpired (at or after ExpiresAt by
// the Sealer's clock).
func (s *Sealer) Open(sealed string) (*storage.AuthRequest, error) {
	plain, err := s.box.open(sealed)
	if err != nil {
		return nil, err
	}
	r, err := decode(string(plain))
	if err != nil { // authentic but undecodable: a bug, not an attack
		return nil, &Error{Reason: ErrMalformed, Err: err}
	}
	if !s.now().Before(r.ExpiresAt) {
		return nil, &Error{Reason: ErrExpired}
	}
	return r, nil
}
