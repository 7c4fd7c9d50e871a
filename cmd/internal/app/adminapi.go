package app

import (
	"context"
	"errors"
	"net/http"

	"github.com/monban-idp/monban/op"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/adminapi"
)

// serviceTokens hands the admin API op's verification of service-account
// tokens (web does not import op).
type serviceTokens struct{ p *op.Provider }

func (s serviceTokens) VerifyServiceToken(ctx context.Context, token string) (*adminapi.Token, error) {
	t, err := s.p.VerifyServiceToken(ctx, token)
	if errors.Is(err, op.ErrTokenInactive) {
		return nil, adminapi.ErrInvalidToken
	} else if err != nil {
		return nil, err
	}
	return &adminapi.Token{ClientID: t.ClientID, Scopes: t.Scopes, JKT: t.JKT}, nil
}

// dpopProofs hands the admin API op's resource-side DPoP proof check
// (RFC 9449 §7.1; op.Provider.CheckResourceProof): the proof must be by
// the key the verified token is bound to.
type dpopProofs struct{ p *op.Provider }

func (d dpopProofs) CheckProof(r *http.Request, token, jkt string) error {
	got, err := d.p.CheckResourceProof(r, token)
	var pe *op.DPoPProofError
	switch {
	case errors.As(err, &pe):
		return &adminapi.DPoPError{Code: pe.Code, Description: pe.Description, Nonce: pe.Nonce}
	case err != nil:
		return err
	case got != jkt: // the verified token is the same token; belt and braces
		return &adminapi.DPoPError{Code: "invalid_dpop_proof", Description: "the DPoP proof is signed by another key than the access token is bound to"}
	}
	return nil
}

// keyRotator hands the admin API the forced rotation of `monban keys rotate`.
type keyRotator struct{ k *keys.Keys }

func (r keyRotator) RotateKeys(ctx context.Context, immediately bool) ([]adminapi.KeyRotation, error) {
	res, err := r.k.ForceRotate(ctx, immediately, keys.SupportedAlgorithms...)
	out := make([]adminapi.KeyRotation, 0, len(res))
	for _, k := range res {
		out = append(out, adminapi.KeyRotation{Algorithm: k.Algorithm, Rotated: k.Rotated, Retired: k.Retired,
			Current: k.Current, Next: k.Next, PublishedFor: k.PublishedFor, RetryAt: k.RetryAt})
	}
	return out, err
}

// adminAPI registers the admin API (/admin/api/v1, issue 20) on mux when
// the configuration enables it.
func (a *App) adminAPI(mux *http.ServeMux, provider *op.Provider, pages *web.Handler, sessions adminapi.SessionEnder, k *keys.Keys) error {
	if !a.cfg.AdminAPI {
		return nil
	}
	cfg := adminapi.Config{
		Store: a.store, Verifier: serviceTokens{provider}, Sessions: sessions, Hasher: a.cfg.Hasher,
		Keys: keyRotator{k}, ClientAddr: pages.ClientAddr, Now: a.cfg.Now, Logger: a.cfg.Logger,
		AllowPrivateBackchannel: a.cfg.BackchannelAllowPrivateNetworks, ClientChanged: provider.InvalidateClient,
	}
	if a.cfg.DPoP { // without DPoP no token is bound, and the DPoP scheme is refused
		cfg.DPoP = dpopProofs{provider}
	}
	api, err := adminapi.New(cfg)
	if err != nil {
		return err
	}
	api.Routes(mux)
	return nil
}
