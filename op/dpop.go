package op

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// DPoP, Demonstrating Proof of Possession (RFC 9449): a client proves with
// every request that it holds a private key, and the tokens issued to it
// are bound to that key (the `cnf.jkt` confirmation, RFC 9449 §6), so that a
// stolen access token is useless without the key. This file checks proofs
// (§4.3) and makes server nonces (§8, §9); dpop_token.go binds tokens at
// the token endpoint, dpop_resource.go checks them at UserInfo.

// DPoP header names and values.
const (
	headerDPoP      = "DPoP"       // the proof (RFC 9449 §4.1)
	headerDPoPNonce = "DPoP-Nonce" // a server nonce (RFC 9449 §8.1)
	typDPoPProof    = "dpop+jwt"   // RFC 9449 §4.2
	// tokenTypeDPoP is the token_type of a DPoP-bound access token (RFC
	// 9449 §5) and its Authorization scheme (§7.1).
	tokenTypeDPoP = "DPoP"
)

// DPoP error codes (RFC 9449 §12.2).
const (
	errCodeInvalidDPoPProof = "invalid_dpop_proof"
	errCodeUseDPoPNonce     = "use_dpop_nonce"
)

// DPoP limits.
const (
	// DefaultDPoPProofWindow is how far a proof's iat may lie from now
	// either way (RFC 9449 §11.1 leaves the window to the server: "a few
	// seconds to a few minutes").
	DefaultDPoPProofWindow = 60 * time.Second
	// dpopNonceWindow is how long one server nonce is current; the
	// previous one stays accepted, so a nonce lives one to two windows.
	dpopNonceWindow   = 5 * time.Minute
	maxDPoPProofBytes = 8 << 10
	maxDPoPJTI        = 256
)

// dpopAlgs is the algorithm allow-list of DPoP proofs, advertised as
// dpop_signing_alg_values_supported (RFC 9449 §5.1): asymmetric only, never
// none or HS* (§4.3 items 5 and 6; RFC 8725 §3.1, §3.2).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.PS256, jose.EdDSA}

// dpopProof is what a valid proof establishes.
type dpopProof struct {
	// jkt is the JWK SHA-256 thumbprint of the proof's key (RFC 7638),
	// base64url: what tokens are bound to (RFC 9449 §6.1).
	jkt string
	// jti is the proof's identifier, single-use (RFC 9449 §11.1); forget
	// is when the store may drop it: after that, iat is out of the window
	// anyway.
	jti    string
	forget time.Time
}

// dpopError is a refused proof: code is invalid_dpop_proof or
// use_dpop_nonce (RFC 9449 §12.2); desc goes to the client.
type dpopError struct{ code, desc string }

func (e *dpopError) Error() string { return e.code + ": " + e.desc }

func badProof(desc string) *dpopError { return &dpopError{code: errCodeInvalidDPoPProof, desc: desc} }

// dpopClaims are the claims of a proof (RFC 9449 §4.2).
type dpopClaims struct {
	JTI   string       `json:"jti"`
	HTM   string       `json:"htm"`
	HTU   string       `json:"htu"`
	IAT   *json.Number `json:"iat"`
	ATH   *string      `json:"ath"`
	Nonce *string      `json:"nonce"`
}

// dpopHeader is the protected header of a proof, read before go-jose
// parses it so that typ, alg and the jwk can be checked as sent.
type dpopHeader struct {
	Typ string                     `json:"typ"`
	Alg string                     `json:"alg"`
	JWK map[string]json.RawMessage `json:"jwk"`
}

// privateJWKMembers are the JWK members of private or symmetric keys
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1): a proof's jwk must have none (RFC
// 9449 §4.3 item 7).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// checkDPoPProof checks a proof as RFC 9449 §4.3 lists: one well-formed
// JWT of typ dpop+jwt, an allowed asymmetric alg, a public jwk in the
// header that verifies the signature, jti, htm = method, htu = the request
// URI without query and fragment, iat within ±DPoPProofWindow of now, ath
// = the hash of accessToken when one is presented, and, when the provider requires nonces, a current server nonce (checked
// last, so a proof with another fault is invalid_dpop_proof). The jti is
// not recorded here (useDPoPProof).
func (p *Provider) checkDPoPProof(proof, method, requestURI, accessToken string, now time.Time) (*dpopProof, *dpopError) {
	if proof == "" || len(proof) > maxDPoPProofBytes || strings.Count(proof, ".") != 2 {
		return nil, badProof("the DPoP proof is not a JWT")
	}
	rawHeader, err := base64.RawURLEncoding.DecodeString(proof[:strings.IndexByte(proof, '.')])
	var h dpopHeader
	if err != nil || json.Unmarshal(rawHeader, &h) != nil {
		return nil, badProof("the DPoP proof header is unreadable")
	}
	switch {
	case h.Typ != typDPoPProof:
		return nil, badProof("the DPoP proof's typ must be dpop+jwt")
	case !isDPoPAlg(h.Alg):
		return nil, badProof("the DPoP proof's alg is not supported")
	case h.JWK == nil:
		return nil, badProof("the DPoP proof has no jwk")
	}
	for _, m := range privateJWKMembers {
		if _, ok := h.JWK[m]; ok {
			return nil, badProof("the DPoP proof's jwk must be a public key")
		}
	}
	jws, err := jose.ParseSigned(proof, dpopAlgs)
	if err != nil || len(jws.Signatures) != 1 || jws.Signatures[0].Header.JSONWebKey == nil {
		return nil, badProof("the DPoP proof is malformed")
	}
	key := jws.Signatures[0].Header.JSONWebKey
	if !key.IsPublic() || !key.Valid() {
		return nil, badProof("the DPoP proof's jwk must be a public key")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, badProof("the DPoP proof's signature does not verify")
	}
	var cl dpopClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, badProof("the DPoP proof's claims are unreadable")
	}
	window := p.cfg.DPoPProofWindow
	iat, ok := numericDate(cl.IAT)
	switch {
	case cl.JTI == "" || len(cl.JTI) > maxDPoPJTI:
		return nil, badProof("the DPoP proof's jti is missing or too long")
	case cl.HTM != method:
		return nil, badProof("the DPoP proof is for another HTTP method")
	case !sameHTU(cl.HTU, requestURI):
		return nil, badProof("the DPoP proof is for another URI")
	case !ok || iat.Before(now.Add(-window)) || iat.After(now.Add(window)):
		return nil, badProof("the DPoP proof is expired or not yet valid")
	case accessToken != "" && cl.ATH == nil:
		return nil, badProof("the DPoP proof lacks the ath of the access token")
	case accessToken != "" && subtle.ConstantTimeCompare([]byte(*cl.ATH), []byte(accessTokenHash(accessToken))) != 1:
		return nil, badProof("the DPoP proof's ath does not match the access token")
	}
	if p.cfg.DPoPNonce && (cl.Nonce == nil || !p.dpopNonces.valid(*cl.Nonce, now)) {
		return nil, &dpopError{code: errCodeUseDPoPNonce, desc: "a DPoP nonce from the server is required"}
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, badProof("the DPoP proof's jwk has no thumbprint")
	}
	return &dpopProof{jkt: base64.RawURLEncoding.EncodeToString(thumb), jti: cl.JTI, forget: iat.Add(window + clockLeeway)}, nil
}

func isDPoPAlg(alg string) bool {
	for _, a := range dpopAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}

// accessTokenHash is a proof's ath for token: base64url(SHA-256(token))
// (RFC 9449 §4.2).
func accessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sameHTU compares a proof's htu with the request URI ignoring query and
// fragment (RFC 9449 §4.3 item 9), after the syntax-based normalization of
// RFC 3986 §6.2.2 and the scheme-based one of §6.2.3: case-insensitive
// scheme and host, default ports dropped, an empty path as "/".
func sameHTU(htu, requestURI string) bool {
	a, ok1 := normalHTU(htu)
	b, ok2 := normalHTU(requestURI)
	return ok1 && ok2 && a == b
}

func normalHTU(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// useDPoPProof records the proof's jti so that it is accepted once (RFC
// 9449 §11.1), in the store's client-assertion replay table under the
// client the proof was presented for, in a namespace of its own ("dpop:"
// and the key's thumbprint). A replay is invalid_dpop_proof; any other
// error is the store's.
func (p *Provider) useDPoPProof(ctx context.Context, clientID string, proof *dpopProof) error {
	err := p.store.UseClientAssertion(ctx, clientID, "dpop:"+proof.jkt+":"+proof.jti, proof.forget, p.now())
	if errors.Is(err, storage.ErrAlreadyExists) {
		p.log.WarnContext(ctx, "DPoP proof replayed", "event", "dpop_proof_replay", "client_id", clientID)
		return badProof("the DPoP proof was already used")
	}
	return err
}
