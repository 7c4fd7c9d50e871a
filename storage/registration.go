package storage

import (
	"context"
	"time"
)

// InitialAccessToken authorizes dynamic client registrations (RFC 7591
// §3: "initial access token"), issued by an operator ("monban client
// registration-token"). Only its hash is kept; it works until it
// expires or its uses run out.
type InitialAccessToken struct {
	ID        string
	TokenHash string // HashToken of the token
	// UsesLeft is how many more registrations the token allows.
	UsesLeft  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InitialAccessTokens stores initial access tokens for dynamic client
// registration (issue 19 item 7; migration 00024).
type InitialAccessTokens interface {
	// CreateInitialAccessToken inserts t. ErrAlreadyExists if the ID or
	// hash is taken.
	CreateInitialAccessToken(ctx context.Context, t *InitialAccessToken) error
	// GetInitialAccessToken returns the token with the hash if it is
	// usable at now (not expired, uses left), or ErrNotFound.
	GetInitialAccessToken(ctx context.Context, hash string, now time.Time) (*InitialAccessToken, error)
	// UseInitialAccessToken takes one use of the token with the hash in
	// one atomic operation, so of concurrent uses of its last one exactly
	// one succeeds; it returns the token as it is afterwards. ErrNotFound
	// if absent, expired at now or used up.
	UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (*InitialAccessToken, error)
}
