package op

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// DPoP at the token endpoint (RFC 9449 §5): dpopTokenEndpoint checks the
// proof before zitadel's router parses the request and hands it on
// through the request context; the grants (code, refresh,
// client_credentials, device code, token exchange) call dpopBinding once the client is
// authenticated, and bind what they issue to the proof's key.

type dpopContextKey struct{}

// dpopFrom returns the proof dpopTokenEndpoint accepted, or nil.
func dpopFrom(ctx context.Context) *dpopProof {
	p, _ := ctx.Value(dpopContextKey{}).(*dpopProof)
	return p
}

// dpopTokenEndpoint wraps the token endpoint: with DPoP enabled, a POST
// with one DPoP header must carry a valid proof for this endpoint (RFC
// 9449 §4.3, §5), or it is answered 400 invalid_dpop_proof or
// use_dpop_nonce (§8) before anything else happens; more than one DPoP
// header is invalid too (§4.3 item 1). With nonces on, every answer
// carries the current nonce in DPoP-Nonce (§8.2). Without DPoP the
// header is ignored (a server that does not support DPoP issues bearer
// tokens, §5).
func (p *Provider) dpopTokenEndpoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.cfg.DPoP || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		proof, derr := p.endpointProof(w, r, PathToken)
		switch {
		case derr != nil:
			p.refuseProof(r.Context(), w, derr)
		case proof == nil:
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), dpopContextKey{}, proof)))
		}
	})
}

// endpointProof reads the DPoP proof of a POST to the endpoint at path
// (the token endpoint, or PAR per §10.1): with nonces on it first sets the
// current DPoP-Nonce on the answer (§8.2). It returns the proof checked
// for that endpoint, nil without one; more than one DPoP header (§4.3
// item 1) or a failed check is a *dpopError.
func (p *Provider) endpointProof(w http.ResponseWriter, r *http.Request, path string) (*dpopProof, *dpopError) {
	now := p.now()
	if p.cfg.DPoPNonce {
		w.Header().Set(headerDPoPNonce, p.dpopNonces.current(now))
	}
	proofs := r.Header.Values(headerDPoP)
	switch len(proofs) {
	case 0:
		return nil, nil
	case 1:
		return p.checkDPoPProof(proofs[0], r.Method, p.issuer+path, "", now)
	default:
		return nil, badProof("more than one DPoP proof was sent")
	}
}

// refuseProof logs and answers a refused DPoP proof at the token or PAR
// endpoint.
func (p *Provider) refuseProof(ctx context.Context, w http.ResponseWriter, derr *dpopError) {
	p.log.InfoContext(ctx, "DPoP proof refused", "event", "dpop_proof_refused", "error", derr.code, "reason", derr.desc)
	writeDPoPTokenError(w, derr)
}

// writeDPoPTokenError answers a refused proof at the token endpoint: 400
// with the error code in the JSON body (RFC 9449 §5, §8).
func writeDPoPTokenError(w http.ResponseWriter, e *dpopError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.code, e.desc})
}

// errInvalidDPoPProof is invalid_dpop_proof for the token endpoint's router.
func errInvalidDPoPProof(desc string) error {
	return zop.NewStatusError(&oidc.Error{ErrorType: errCodeInvalidDPoPProof, Description: desc}, http.StatusBadRequest)
}

// dpopBinding returns the thumbprint the tokens of this request are bound
// to: the proof's, whose jti it records (single use), or "" without a
// proof. A client registered with DPoPBoundAccessTokens (RFC 9449 §5.2)
// must send one, and a replayed proof is refused: both
// invalid_dpop_proof, before the grant changes anything.
func (p *Provider) dpopBinding(ctx context.Context, c *storage.Client) (string, error) {
	proof := dpopFrom(ctx)
	if proof == nil {
		if c.DPoPBoundAccessTokens {
			return "", errInvalidDPoPProof("the client must send a DPoP proof")
		}
		return "", nil
	}
	err := p.useDPoPProof(ctx, c.ID, proof)
	var de *dpopError
	switch {
	case errors.As(err, &de):
		return "", errInvalidDPoPProof(de.desc)
	case err != nil:
		return "", p.serverError(ctx, err)
	}
	return proof.jkt, nil
}

// confirmation is the `cnf` claim of a DPoP-bound access token (RFC 7800
// §3.1, RFC 9449 §6.1): the thumbprint of the key it is bound to.
type confirmation struct {
	JKT string `json:"jkt"`
}

// tokenType is the token_type of an access token bound to jkt: DPoP when
// bound (RFC 9449 §5), Bearer otherwise.
func tokenType(jkt string) string {
	if jkt != "" {
		return tokenTypeDPoP
	}
	return oidc.BearerToken
}

// confirmationOf is the cnf claim for jkt, nil when unbound.
func confirmationOf(jkt string) *confirmation {
	if jkt == "" {
		return nil
	}
	return &confirmation{JKT: jkt}
}
