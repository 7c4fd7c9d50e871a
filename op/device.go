package op

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// The device authorization grant (RFC 8628).
const (
	// PathDeviceAuthorization is the device authorization endpoint (RFC
	// 8628 §3.1).
	PathDeviceAuthorization = "/device_authorization"
	// PathDevice is the user-code page (the verification_uri, RFC 8628
	// §3.2), served by the browser pages (package web).
	PathDevice = "/device"
	// GrantDeviceCode is the device flow's grant type (RFC 8628 §3.4).
	GrantDeviceCode = string(oidc.GrantTypeDeviceCode)

	// DefaultDeviceCodeTTL is how long a person has to enter the user
	// code (RFC 8628 §3.2 expires_in).
	DefaultDeviceCodeTTL = 10 * time.Minute
	// DefaultDeviceInterval is the polling interval a device is told
	// (RFC 8628 §3.2: 5 seconds when absent).
	DefaultDeviceInterval = 5 * time.Second
)

// DeviceAuthorization is the device authorization endpoint (RFC 8628
// §3.1–3.2). The client authenticates as at the token endpoint (public
// clients by client_id) and must be registered for the device grant
// (unauthorized_client otherwise, §3.2 via RFC 6749 §5.2). The scopes are
// checked as at /authorize.
func (s *tokenServer) DeviceAuthorization(ctx context.Context, r *zop.ClientRequest[oidc.DeviceAuthorizationRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	if !p.cfg.DeviceFlow {
		return nil, oidc.ErrInvalidRequest().WithDescription("the device authorization grant is not enabled")
	}
	if !c.HasGrant(GrantDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the device authorization grant")
	}
	scopes, oerr := grantedScopes(r.Data.Scopes, c)
	if oerr != nil {
		return nil, oerr
	}
	now := p.now()
	deviceCode := storage.NewToken()
	d := &storage.DeviceAuthorization{
		ID: storage.NewID(), DeviceCodeHash: storage.HashToken(deviceCode), ClientID: c.ID, Scopes: scopes,
		CreatedAt: now, ExpiresAt: now.Add(p.cfg.DeviceCodeTTL), Interval: p.cfg.DeviceInterval,
		Status: storage.DevicePending,
	}
	var err error
	for range 5 { // a user code already taken: draw another
		d.UserCode = storage.NewUserCode()
		if err = p.store.CreateDeviceAuthorization(ctx, d, now); !errors.Is(err, storage.ErrAlreadyExists) {
			break
		}
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	shown := storage.FormatUserCode(d.UserCode)
	return zop.NewResponse(&oidc.DeviceAuthorizationResponse{
		DeviceCode: deviceCode, UserCode: shown,
		VerificationURI:         p.issuer + PathDevice,
		VerificationURIComplete: p.issuer + PathDevice + "?user_code=" + shown,
		ExpiresIn:               int(p.cfg.DeviceCodeTTL / time.Second),
		Interval:                int(p.cfg.DeviceInterval / time.Second),
	}), nil
}

// DeviceToken is the device access token request (RFC 8628 §3.4–3.5).
// Each poll is one atomic store operation (storage.DeviceAuthorization.Poll):
// authorization_pending until the person answers, slow_down (and 5 s more
// interval) when polled too often, access_denied after a refusal,
// expired_token once the code expired, and the tokens exactly once; a
// device code polled again after that, or another client's, is
// invalid_grant.
func (s *tokenServer) DeviceToken(ctx context.Context, r *zop.ClientRequest[oidc.DeviceAccessTokenRequest]) (*zop.Response, error) {
	p := s.p
	c := r.Client.(client).c
	if !p.cfg.DeviceFlow {
		return nil, oidc.ErrUnsupportedGrantType()
	}
	if !c.HasGrant(GrantDeviceCode) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the device authorization grant")
	}
	jkt, err := p.dpopBinding(ctx, c)
	if err != nil {
		return nil, err
	}
	d, res, err := p.store.PollDeviceAuthorization(ctx, c.ID, storage.HashToken(r.Data.DeviceCode), p.now())
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code is invalid")
	case err != nil:
		return nil, p.serverError(ctx, err)
	}
	switch res {
	case storage.PollPending:
		return nil, oidc.ErrAuthorizationPending()
	case storage.PollSlowDown:
		return nil, oidc.ErrSlowDown().WithDescription("poll every %d seconds", int(d.Interval/time.Second))
	case storage.PollExpired:
		return nil, oidc.ErrExpiredDeviceCode().WithDescription("the device code expired")
	case storage.PollDenied:
		return nil, oidc.ErrAccessDenied().WithDescription("the user denied the request")
	case storage.PollSpent:
		return nil, oidc.ErrInvalidGrant().WithDescription("the device code was already used")
	}
	u, err := p.store.GetUser(ctx, d.UserID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		return nil, oidc.ErrAccessDenied().WithDescription("the user can no longer sign in")
	}
	if err != nil {
		return nil, p.serverError(ctx, err)
	}
	if !allowedByGroups(c, u) { // issue 15: the client's group rule
		return nil, oidc.ErrAccessDenied().WithDescription(notInGroupDesc)
	}
	return p.issueTokens(ctx, c, grant{
		userID: d.UserID, sessionID: d.SessionID, scopes: d.Scopes, authTime: d.AuthTime, amr: d.AMR,
		offline: slices.Contains(d.Scopes, scopeOfflineAccess), user: u, jkt: jkt,
	}, nil)
}
