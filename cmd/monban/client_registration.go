package main

import (
	"context"
	"time"

	"github.com/monban-idp/monban/storage"
)

// Limits of "client registration-token".
const (
	defaultRegistrationTokenTTL = 24 * time.Hour
	maxRegistrationTokenTTL     = 30 * 24 * time.Hour
	maxRegistrationTokenUses    = 1000
)

// clientRegistrationToken issues an initial access token for dynamic
// client registration (RFC 7591 §3): random, 256 bits, stored only as its
// SHA-256, valid for --ttl and --uses registrations. It is printed once.
func (c *cli) clientRegistrationToken(ctx context.Context, args []string) error {
	cmd := c.dbCommand("client registration-token", "[--ttl 24h] [--uses N] [--output json]", true)
	ttl := cmd.fs.Duration("ttl", defaultRegistrationTokenTTL, "how long the token works (`duration`, at most 720h)")
	uses := cmd.fs.Int("uses", 1, "how many clients it may register (`N`, 1 to 1000)")
	_, js, err := cmd.parse(args, 0)
	if err != nil {
		return err
	}
	switch {
	case *ttl <= 0 || *ttl > maxRegistrationTokenTTL:
		return usagef("--ttl must be more than 0 and at most %s", maxRegistrationTokenTTL)
	case *uses < 1 || *uses > maxRegistrationTokenUses:
		return usagef("--uses must be between 1 and %d", maxRegistrationTokenUses)
	}
	cfg, err := cmd.cf.load(c.getenv)
	if err != nil {
		return err
	}
	token := storage.NewToken()
	t := now()
	rec := &storage.InitialAccessToken{ID: storage.NewID(), TokenHash: storage.HashToken(token), UsesLeft: *uses,
		CreatedAt: t, ExpiresAt: t.Add(*ttl)}
	return cmd.withStore(ctx, func(st storage.Store) error {
		if err := st.CreateInitialAccessToken(ctx, rec); err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, struct {
				Token     string    `json:"initial_access_token"`
				Uses      int       `json:"uses"`
				ExpiresAt time.Time `json:"expires_at"`
			}{token, rec.UsesLeft, rec.ExpiresAt.UTC()})
		}
		c.printf("Initial access token: %s\n", token)
		c.printf("It registers up to %d client(s) at /register until %s (Authorization: Bearer …).\n", rec.UsesLeft, formatTime(rec.ExpiresAt))
		c.printf("The token is shown only this once: monban stores only its hash.\n")
		if !cfg.DynamicRegistration {
			c.printf("Note: dynamic_registration is off in this configuration; /register answers 404 until it is turned on.\n")
		}
		return nil
	})
}
