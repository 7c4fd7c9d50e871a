package op

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/acr"
)

// StepUpper is implemented by a Browser that can ask a signed-in person
// for the factors their session lacks, without the ones it has (issue 17).
// A Browser without it sends the person through the whole sign-in.
type StepUpper interface {
	// StepUpURL starts the sign-in flow for the authorization request with
	// what sess already established (its user, methods and auth_time), and
	// returns the first page still needed.
	StepUpURL(w http.ResponseWriter, r *http.Request, authRequestID string, sess *storage.Session) string
}

// requestedACR is the class the authorization request asks for: the
// weakest known one among acr_values (OIDC Core §3.1.2.1, voluntary, but
// honoured) and the values of the ID token's `acr` claim request in the
// claims parameter (§5.5.1.1, parsed by parseClaimsParam), which the
// sign-in then steps up to. An essential `acr` claim none of whose values
// monban knows cannot be met, which §5.5.1.1 makes a failed
// authentication: access_denied. An acr value or values that are not
// strings are invalid_request.
func requestedACR(acrValues string, cr *claimsRequest) (string, *oidc.Error) {
	need := acr.Needed(strings.Fields(acrValues))
	c := cr.IDToken["acr"]
	if c == nil {
		return need, nil
	}
	values, ok := c.acrValues()
	if !ok {
		return "", oidc.ErrInvalidRequest().WithDescription("the acr claim request's value or values are not strings")
	}
	fromClaim := acr.Needed(values)
	if fromClaim == "" && c.Essential && len(values) > 0 {
		return "", oidc.ErrAccessDenied().WithDescription("the requested acr cannot be met")
	}
	return acr.Stronger(need, fromClaim), nil
}

// neededACR is the class a sign-in for req by userID needs: the request's
// own (acr_values, claims, the client's "require a second factor") and,
// with AdminsRequireMFA, multi-factor for an administrator.
func (p *Provider) neededACR(ctx context.Context, req *storage.AuthRequest, userID string) (string, error) {
	need := req.ACR
	if !p.cfg.AdminsRequireMFA {
		return need, nil
	}
	u, err := p.store.GetUser(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return need, nil // nobody to sign in: the session checks refuse it
	}
	if err != nil {
		return "", err
	}
	if u.Admin {
		need = acr.Stronger(need, acr.MFA)
	}
	return need, nil
}

// stepUp sends the signed-in person to the factors their session lacks
// for req (sealed like signIn when a sealer is configured).
func (p *Provider) stepUp(w http.ResponseWriter, r *http.Request, req *storage.AuthRequest, sess *storage.Session) error {
	su, ok := p.browser.(StepUpper)
	if !ok {
		return p.signIn(w, r, req)
	}
	id := req.ID
	if p.cfg.Pending == nil {
		if err := p.store.CreateAuthRequest(r.Context(), req); err != nil {
			return unavailable(err)
		}
	} else {
		sealed, err := p.cfg.Pending.Seal(req)
		if err != nil {
			return &pageError{status: http.StatusBadRequest, title: invalidSignInT, detail: tooLargeSignInD, err: err}
		}
		id = sealed
	}
	redirect(w, r, su.StepUpURL(w, r, id, sess))
	return nil
}
