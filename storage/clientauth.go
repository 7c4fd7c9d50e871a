package storage

import (
	"context"
	"net/url"
	"time"
)

// Client authentication with a signed JWT (RFC 7523 §2.2, OIDC Core §9).
const AuthMethodPrivateKeyJWT = "private_key_jwt"

// ClientAssertions remembers the jti of every client assertion accepted,
// until the assertion expires, so none is accepted twice (RFC 7523 §3
// item 7; OIDC Core §9: "the jti … MUST only be used once").
type ClientAssertions interface {
	// UseClientAssertion records jti for the client until expiresAt, after
	// deleting the entries that expired before now. ErrAlreadyExists if
	// the client's jti is recorded and not expired at now (a replay);
	// ErrNotFound for an unknown client.
	UseClientAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error
}

// PushedRequest is a pushed authorization request (RFC 9126 §2): the
// parameters a client posted to the PAR endpoint, which /authorize takes
// as the whole request when the browser arrives with its request_uri.
type PushedRequest struct {
	// ID is HashToken of the random part of the request_uri.
	ID        string
	ClientID  string
	Params    url.Values
	CreatedAt time.Time
	ExpiresAt time.Time
}

// PushedRequests stores pushed authorization requests until used.
type PushedRequests interface {
	// CreatePushedRequest inserts r, after deleting the requests that
	// expired before now. ErrAlreadyExists if the ID is taken; ErrNotFound
	// for an unknown client.
	CreatePushedRequest(ctx context.Context, r *PushedRequest, now time.Time) error
	// ConsumePushedRequest atomically removes and returns the request id
	// of the client (RFC 9126 §2.2: a request_uri is used once; §4: it is
	// bound to its client). ErrNotFound if absent, another client's, or
	// expired at now (an expired one is removed too).
	ConsumePushedRequest(ctx context.Context, id, clientID string, now time.Time) (*PushedRequest, error)
}
