package pending

import (
	"encoding/binary"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
)

// CodePrefix starts every sealed authorization code of this format
// version. It differs from Prefix, is the additional data of the code's
// sealing and is sealed with a key of its own, so a sealed pending request
// never opens as a code, nor a code as a pending request. No stored code
// (storage.NewToken: base64url) contains its ".".
const CodePrefix = "c1."

// MaxCodeLen bounds a sealed code: 1 KiB keeps the redirect to the client
// short. A request whose code would be longer is not sealed (Seal says
// ErrTooLarge), and the caller stores it as before.
const MaxCodeLen = 1024

// maxCodePlaintext is the longest encoding whose sealed code fits
// MaxCodeLen: 737 bytes.
const maxCodePlaintext = (MaxCodeLen-len(CodePrefix))*3/4 - nonceSize - tagSize

// CodeSealer seals an authorization request answered at once from a live
// SSO session into its authorization code (RFC 6749 §4.1.2), so that the
// authorization endpoint stores nothing: the token endpoint opens the code
// and consumes it with the store's RedeemSealedCode, whose tombstone makes
// it single use. It is safe for concurrent use. Every replica behind one
// issuer needs the same key, which must not be the Sealer's.
//
// A sealed code is CodePrefix followed by the unpadded base64url encoding
// of a 12-byte random nonce and the AES-256-GCM sealing of the code's
// encoding (see encodeCode), with CodePrefix as additional data: the GCM
// tag makes it unforgeable without the key, which also keeps the
// request's contents (nonce, user and session IDs) from the client.
type CodeSealer struct {
	box box
	now func() time.Time
}

// NewCodeSealer returns a CodeSealer with key (KeySize bytes, for this
// purpose only) and clock now (nil: time.Now).
func NewCodeSealer(key []byte, now func() time.Time) (*CodeSealer, error) {
	b, err := newBox(key, CodePrefix, MaxCodeLen)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &CodeSealer{box: b, now: now}, nil
}

// IsSealedCode reports whether code has the form of a sealed code (it may
// still fail to open), as opposed to a stored request's code.
func IsSealedCode(code string) bool { return strings.HasPrefix(code, CodePrefix) }

// CodeHash is the key the tombstone of r's sealed code is kept under
// (storage.CodeRedemption.CodeHash): the hash of its request ID, which the
// seal authenticates, not of the code's text: should one sealing ever
// open under two texts (Open refuses every text but the one Seal wrote,
// against base64 decoding that skips line breaks and ignores unused low
// bits), both still share one tombstone, so none can be redeemed twice.
// Each request is sealed once (its ID is new at the authorization
// endpoint).
func CodeHash(r *storage.AuthRequest) string { return storage.HashToken(CodePrefix + r.ID) }

// Seal returns the code for r, which must be bound to its user and
// session and carry its code's expiry (CodeExpiresAt). Only what the code
// exchange needs is kept: the ID, client, redirect URI, scopes, nonce, PKCE
// challenge and method, ACR, requested claims, dpop_jkt, creation and
// expiry, the user, session, auth time and AMR, and the code's expiry;
// not state, response mode, prompt, max_age, hints or ui_locales, which
// the authorization endpoint has used up. Times are kept to the
// microsecond. Its error wraps ErrTooLarge when the code would exceed
// MaxCodeLen, ErrUnsealable when r is not bound to a session or has a
// requested claim or dpop_jkt that cannot be sealed (see Seal).
func (s *CodeSealer) Seal(r *storage.AuthRequest) (string, error) {
	plain, err := encodeCode(r)
	if err != nil {
		return "", err
	}
	return s.box.seal(plain), nil
}

// Open checks and decodes a sealed code. Its errors are *Error with
// Reason ErrMalformed, ErrForged or ErrExpired (at or after the code's
// expiry by the CodeSealer's clock). It never panics, whatever code is.
func (s *CodeSealer) Open(code string) (*storage.AuthRequest, error) {
	plain, err := s.box.open(code)
	if err != nil {
		return nil, err
	}
	r, err := decodeCode(plain)
	if err != nil { // authentic but undecodable: a bug, not an attack
		return nil, &Error{Reason: ErrMalformed, Err: err}
	}
	if !s.now().Before(r.CodeExpiresAt) {
		return nil, &Error{Reason: ErrExpired}
	}
	return r, nil
}

// encodeCode is a code's encoding: UserID and SessionID (strings),
// AuthTime (a varint of Unix microseconds), AMR (a list), CodeExpiresAt
// (a varint of Unix microseconds), then the encoding of the kept fields
// of the request as encode writes it (with the fields Seal drops empty).
// A format change needs a new CodePrefix.
func encodeCode(r *storage.AuthRequest) ([]byte, error) {
	if r.UserID == "" || r.SessionID == "" || r.CodeExpiresAt.IsZero() {
		return nil, &Error{Reason: ErrUnsealable}
	}
	b := make([]byte, 0, maxCodePlaintext)
	b = appendString(appendString(b, r.UserID), r.SessionID)
	b = binary.AppendVarint(b, r.AuthTime.UnixMicro())
	b = binary.AppendUvarint(b, uint64(len(r.AMR)))
	for _, m := range r.AMR {
		b = appendString(b, m)
	}
	b = binary.AppendVarint(b, r.CodeExpiresAt.UnixMicro())
	kept := storage.AuthRequest{
		ID: r.ID, ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes, Nonce: r.Nonce,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		ACR: r.ACR, Claims: r.Claims, DPoPJKT: r.DPoPJKT, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
	}
	b, err := appendEncoding(b, &kept)
	if err != nil {
		return nil, err
	}
	if len(b) > maxCodePlaintext {
		return nil, &Error{Reason: ErrTooLarge}
	}
	return b, nil
}

// decodeCode is encodeCode's inverse.
func decodeCode(b []byte) (*storage.AuthRequest, error) {
	d := &decoder{s: string(b)}
	userID, sessionID := d.string(), d.string()
	authTime := time.UnixMicro(d.varint()).UTC()
	amr := d.list()
	codeExpiresAt := time.UnixMicro(d.varint()).UTC()
	if d.err != nil {
		return nil, d.err
	}
	r, err := decode(d.s)
	if err != nil {
		return nil, err
	}
	if userID == "" || sessionID == "" {
		return nil, errDecode
	}
	r.UserID, r.SessionID, r.AuthTime, r.AMR, r.CodeExpiresAt = userID, sessionID, authTime, amr, codeExpiresAt
	return r, nil
}
