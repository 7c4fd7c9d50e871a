package op

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// dpopNonces makes and checks server nonces for DPoP proofs (RFC 9449 §8,
// §9) without storing them: a nonce is the number of the current time
// window and an HMAC of it under the provider's nonce key, so every
// replica with the same key makes and accepts the same nonces. A nonce is
// accepted in its own window and the next, so it is valid for one to two
// windows and the client learns a fresh one from the DPoP-Nonce header
// of every response.
type dpopNonces struct {
	key    []byte
	window time.Duration
	// last is the nonce current made most recently, with its window: the
	// DPoP-Nonce header goes out on every token response, and the nonce
	// changes once a window, so it is computed once a window rather than
	// with an HMAC per response.
	last atomic.Pointer[windowNonce]
}

// windowNonce is the nonce of one time window.
type windowNonce struct {
	slot  uint64
	nonce string
}

// dpopNonceMACBytes is the length of the truncated HMAC in a nonce: 128
// bits, beyond guessing.
const dpopNonceMACBytes = 16

// current returns the nonce of now's window.
func (n *dpopNonces) current(now time.Time) string {
	slot := n.slot(now)
	if w := n.last.Load(); w != nil && w.slot == slot {
		return w.nonce
	}
	nonce := n.make(slot)
	n.last.Store(&windowNonce{slot: slot, nonce: nonce})
	return nonce
}

func (n *dpopNonces) slot(now time.Time) uint64 {
	return uint64(now.Unix() / int64(n.window/time.Second))
}

func (n *dpopNonces) make(slot uint64) string {
	b := binary.BigEndian.AppendUint64(nil, slot)
	m := hmac.New(sha256.New, n.key)
	m.Write([]byte("monban dpop nonce"))
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(m.Sum(b)[:8+dpopNonceMACBytes])
}

// valid reports whether nonce is the nonce of now's window or of the one
// before.
func (n *dpopNonces) valid(nonce string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+dpopNonceMACBytes {
		return false
	}
	slot, cur := binary.BigEndian.Uint64(b[:8]), n.slot(now)
	if slot != cur && slot+1 != cur {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(n.make(slot)), []byte(nonce)) == 1
}
