package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/monban-idp/monban/storage"
)

// SecretSealer encrypts second-factor secrets at rest with the
// key-encryption keys (op/keys.KeyEncryptionKeys; the binary wires it).
// aad binds a ciphertext to its owner ("totp:" + user ID).
type SecretSealer interface {
	Seal(aad string, plaintext []byte) []byte
	Open(aad string, sealed []byte) ([]byte, error)
}

// RFC 6238 parameters: 30-second steps, six digits, HMAC-SHA1, which is
// what every authenticator app supports (RFC 6238 §4, §5.2).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	// totpSkew accepts the previous and the next step too (RFC 6238 §5.2
	// recommends at most one step of network delay or clock drift).
	totpSkew = 1
)

// totpAAD binds a sealed TOTP secret to its user.
func totpAAD(userID string) string { return "totp:" + userID }

// newTOTPKey generates a 160-bit secret (RFC 4226 §4 recommends 160) for
// account at issuer, as shown to authenticator apps.
func newTOTPKey(issuer, account string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod,
		SecretSize: 20, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
}

// totpKeyURL is the otpauth:// URL of secret (the Key Uri Format that
// authenticator apps read), for the QR code.
func totpKeyURL(issuer, account, secret string) string {
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: url.Values{
		"secret": {secret}, "issuer": {issuer}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"},
	}.Encode()}
	return u.String()
}

// matchTOTP checks code against secret within ±totpSkew steps of now and
// returns the step it matched; only steps after last count (each code is
// usable once, RFC 6238 §5.2). The store makes the final, atomic replay
// check (storage.Factors.UseTOTPStep).
func matchTOTP(secret, code string, now time.Time, last int64) (int64, bool) {
	code = strings.TrimSpace(code)
	if len(code) != int(totpDigits) {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for step := cur - totpSkew; step <= cur+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// qrSVG renders text as a QR code (error correction M) in SVG, drawn on
// the server so the page needs neither JavaScript nor an image request.
// The SVG is built from the code's modules only, never from input text.
func qrSVG(text string) (string, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return "", fmt.Errorf("qr encode: %w", err)
	}
	b := code.Bounds()
	n := b.Dx()
	const quiet = 4 // modules of white border (ISO/IEC 18004 §6.3.8)
	var d strings.Builder
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA(); r == 0 {
				fmt.Fprintf(&d, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	size := n + 2*quiet
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 %d %d" width="%d" height="%d" role="img" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		size, size, size*5, size*5, size, size, d.String()), nil
}

// recoveryCodeCount is how many recovery codes a person gets at once.
const recoveryCodeCount = 10

// newRecoveryCodes returns recoveryCodeCount codes of 80 random bits each
// (sixteen base32 letters in groups of four), and their storage hashes.
// 80 bits make the stored SHA-256 hashes useless to an offline attack.
func newRecoveryCodes() (codes, hashes []string) {
	for range recoveryCodeCount {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		s := strings.ToLower(base32.StdEncoding.EncodeToString(b))
		code := s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		codes = append(codes, code)
		hashes = append(hashes, recoveryHash(code))
	}
	return codes, hashes
}

// recoveryHash normalises a typed recovery code (case, spaces, dashes)
// and hashes it for the store.
func recoveryHash(code string) string {
	norm := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
	return storage.HashToken("recovery:" + norm)
}

// looksLikeRecoveryCode reports whether typed input has a recovery code's
// length once dashes and spaces are gone.
func looksLikeRecoveryCode(code string) bool {
	n := 0
	for _, r := range code {
		if r != '-' && r != ' ' {
			n++
		}
	}
	return n == 16
}
