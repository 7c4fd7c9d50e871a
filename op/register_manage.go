package op

import (
	"crypto/subtle"
	"errors"
	"net/http"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// serveRegistrationUpdate is the client update request (RFC 7592 §2.2):
// the body is the client's whole metadata, which replaces what was
// registered (omitted values take their defaults). It must name the
// client (client_id) and must not carry the values only the server sets;
// a client_secret it carries must be the current one. A client whose
// method changes to one with a secret gets a new secret, returned once.
func (p *Provider) serveRegistrationUpdate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cl, tok, ok := p.registeredClient(w, r)
	if !ok {
		return
	}
	req, err := readMetadata(w, r)
	if err == nil {
		err = checkUpdateRequest(req, cl)
	}
	if err != nil {
		p.failRegistration(ctx, w, err)
		return
	}
	opts := p.policyOptions()
	var secret string
	var updated *storage.Client
	err = p.cfg.Store.Atomically(ctx, func(tx storage.Store) error {
		var err error
		updated, err = tx.UpdateClient(ctx, cl.ID, func(c *storage.Client) error {
			if !registrationTokenMatches(c, tok) { // changed since it was checked
				return errRegistrationToken
			}
			hadSecret := c.SecretHash != ""
			if err := applyMetadata(c, &req.clientMetadata); err != nil {
				return err
			}
			c.RequireConsent = true
			if err := policyMetadataError(clientpolicy.ValidateClient(c, opts...)); err != nil {
				return err
			}
			if !hadSecret || c.Public() || c.AuthMethod == storage.AuthMethodPrivateKeyJWT {
				secret = newSecretFor(c)
			}
			c.UpdatedAt = p.now()
			return nil
		})
		if err != nil {
			return err
		}
		return p.auditRegistration(ctx, tx, actionClientRegisterUpdate, updated, true)
	})
	p.InvalidateClient(cl.ID)
	switch {
	case errors.Is(err, errRegistrationToken), errors.Is(err, storage.ErrNotFound):
		writeUnauthorized(w)
		return
	case err != nil:
		p.failRegistration(ctx, w, err)
		return
	}
	p.writeRegistration(w, http.StatusOK, updated, secret, tok)
}

// errRegistrationToken: the registration access token no longer matches.
var errRegistrationToken = errors.New("registration access token does not match")

// checkUpdateRequest applies RFC 7592 §2.2's rules on the request body.
func checkUpdateRequest(req *registrationRequest, cl *storage.Client) error {
	switch {
	case req.ClientID != cl.ID:
		return invalidMetadata("client_id must be the client's identifier")
	case req.RegistrationAccessToken != nil:
		return invalidMetadata("registration_access_token must not be sent")
	case req.RegistrationClientURI != nil:
		return invalidMetadata("registration_client_uri must not be sent")
	case req.ClientIDIssuedAt != nil:
		return invalidMetadata("client_id_issued_at must not be sent")
	case req.ClientSecretExpiresAt != nil:
		return invalidMetadata("client_secret_expires_at must not be sent")
	case req.ClientSecret != "" && (cl.SecretHash == "" ||
		subtle.ConstantTimeCompare([]byte(storage.HashToken(req.ClientSecret)), []byte(cl.SecretHash)) != 1):
		return invalidMetadata("client_secret does not match the client's secret")
	}
	return nil
}

// serveRegistrationDelete is the client delete request (RFC 7592 §2.3):
// the client and everything that belongs to it are deleted; 204.
func (p *Provider) serveRegistrationDelete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cl, _, ok := p.registeredClient(w, r)
	if !ok {
		return
	}
	err := p.cfg.Store.Atomically(ctx, func(tx storage.Store) error {
		if err := tx.DeleteClient(ctx, cl.ID); err != nil {
			return err
		}
		return p.auditRegistration(ctx, tx, actionClientRegisterDelete, cl, false)
	})
	p.InvalidateClient(cl.ID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		writeUnauthorized(w)
		return
	case err != nil:
		p.failRegistration(ctx, w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
