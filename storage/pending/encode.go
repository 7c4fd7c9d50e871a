package pending

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/monban-idp/monban/storage"
)

// The binary encoding of a pending request, in this order: the strings
// ID, ClientID, RedirectURI, State, Nonce, ResponseMode, CodeChallenge,
// CodeChallengeMethod, LoginHint, HintSubject (each a uvarint length and
// its bytes); the lists Scopes, Prompt and UILocales (a uvarint count and
// that many strings); MaxAge (a byte 0 for none, or 1 and a uvarint of
// nanoseconds); CreatedAt and ExpiresAt (varints of Unix microseconds,
// UTC); then, only when set, ACR (a string; absent in values sealed
// before it existed, which decode as ""); then, only when Claims is not
// empty, ACR (even when "") followed by Claims.IDToken and
// Claims.UserInfo, each a uvarint bit set over storage.RequestableClaims
// (bit i: the i-th name), so that a request asking for every claim adds 7
// bytes, not 400 (a maximal request has 9 bytes to spare without
// dpop_jkt); then, only when DPoPJKT is set, ACR and the two claim
// sets (even when empty) followed by DPoPJKT as the 32 bytes of the
// SHA-256 thumbprint it encodes (a string of length 32), not its 43
// characters of base64url: a maximal request has 33 bytes more, within
// MaxPlaintext. Fields set only once a person signs in (UserID, SessionID,
// AuthTime, AMR, consent, code) are not encoded: a sealed request never
// has them. A format change needs a new Prefix.

// errDecode is decode's error for a truncated or overlong encoding.
var errDecode = errors.New("pending: bad encoding")

// encode returns r's encoding, or ErrTooLarge.
func encode(r *storage.AuthRequest) ([]byte, error) { return appendEncoding(make([]byte, 0, 256), r) }

// appendEncoding appends r's encoding to b; ErrTooLarge when b grows past
// MaxPlaintext.
func appendEncoding(b []byte, r *storage.AuthRequest) ([]byte, error) {
	for _, s := range []string{r.ID, r.ClientID, r.RedirectURI, r.State, r.Nonce, r.ResponseMode,
		r.CodeChallenge, r.CodeChallengeMethod, r.LoginHint, r.HintSubject} {
		b = appendString(b, s)
	}
	for _, list := range [][]string{r.Scopes, r.Prompt, r.UILocales} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = appendString(b, s)
		}
	}
	if r.MaxAge == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(append(b, 1), uint64(max(*r.MaxAge, 0)))
	}
	b = binary.AppendVarint(b, r.CreatedAt.UnixMicro())
	b = binary.AppendVarint(b, r.ExpiresAt.UnixMicro())
	var jkt []byte
	if r.DPoPJKT != "" {
		var err error
		if jkt, err = base64.RawURLEncoding.Strict().DecodeString(r.DPoPJKT); err != nil || len(jkt) != sha256.Size {
			return nil, &Error{Reason: ErrUnsealable}
		}
	}
	if r.ACR != "" || !r.Claims.IsZero() || jkt != nil {
		b = appendString(b, r.ACR)
	}
	if !r.Claims.IsZero() || jkt != nil {
		for _, names := range [][]string{r.Claims.IDToken, r.Claims.UserInfo} {
			set, err := claimSet(names)
			if err != nil {
				return nil, err
			}
			b = binary.AppendUvarint(b, set)
		}
	}
	if jkt != nil {
		b = appendString(b, string(jkt))
	}
	if len(b) > MaxPlaintext {
		return nil, &Error{Reason: ErrTooLarge}
	}
	return b, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decoder reads an encoding, held as a string so that the strings it
// returns are slices of it, not copies; the first problem sticks in err.
type decoder struct {
	s   string
	err error
}

// uvarint is binary.Uvarint on d.s.
func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; i < len(d.s) && i < binary.MaxVarintLen64; i++ {
		c := d.s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 { // overflows 64 bits
				break
			}
			d.s = d.s[i+1:]
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.err = errDecode
	return 0
}

// varint is binary.Varint on d.s (zig-zag over uvarint).
func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.s)) {
		d.err = errDecode
		return ""
	}
	s := d.s[:n]
	d.s = d.s[n:]
	return s
}

func (d *decoder) list() []string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.s)) { // each element takes at least a byte
		d.err = errDecode
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

// decode is encode's inverse.
func decode(b string) (*storage.AuthRequest, error) {
	d := &decoder{s: b}
	r := &storage.AuthRequest{}
	for _, p := range []*string{&r.ID, &r.ClientID, &r.RedirectURI, &r.State, &r.Nonce, &r.ResponseMode,
		&r.CodeChallenge, &r.CodeChallengeMethod, &r.LoginHint, &r.HintSubject} {
		*p = d.string()
	}
	r.Scopes, r.Prompt, r.UILocales = d.list(), d.list(), d.list()
	switch flag := d.byte(); flag {
	case 0:
	case 1:
		ma := time.Duration(d.uvarint())
		r.MaxAge = &ma
	default:
		d.err = errDecode
	}
	r.CreatedAt = time.UnixMicro(d.varint()).UTC()
	r.ExpiresAt = time.UnixMicro(d.varint()).UTC()
	if d.err == nil && len(d.s) != 0 {
		r.ACR = d.string()
	}
	if d.err == nil && len(d.s) != 0 {
		r.Claims.IDToken = claimNames(d.uvarint(), d)
		r.Claims.UserInfo = claimNames(d.uvarint(), d)
	}
	if d.err == nil && len(d.s) != 0 {
		if jkt := d.string(); d.err == nil && len(jkt) == sha256.Size {
			r.DPoPJKT = base64.RawURLEncoding.EncodeToString([]byte(jkt))
		} else {
			d.err = errDecode
		}
	}
	if d.err == nil && len(d.s) != 0 {
		d.err = errDecode
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.s) == 0 {
		d.err = errDecode
		return 0
	}
	c := d.s[0]
	d.s = d.s[1:]
	return c
}

// claimSet is the bit set of names over storage.RequestableClaims; a name
// not in it cannot be sealed.
func claimSet(names []string) (uint64, error) {
	var set uint64
	for _, n := range names {
		i := slices.Index(storage.RequestableClaims, n)
		if i < 0 || i >= 64 {
			return 0, &Error{Reason: ErrUnsealable}
		}
		set |= 1 << i
	}
	return set, nil
}

// claimNames is claimSet's inverse; a bit beyond the list is a bad
// encoding.
func claimNames(set uint64, d *decoder) []string {
	var out []string
	for i := 0; set != 0; i, set = i+1, set>>1 {
		if set&1 == 0 {
			continue
		}
		if i >= len(storage.RequestableClaims) {
			d.err = errDecode
			return nil
		}
		out = append(out, storage.RequestableClaims[i])
	}
	return out
}
