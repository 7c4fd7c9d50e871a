package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web"
)

// checkSendVerification refuses --send-verification without an address to
// verify, or together with --email-verified.
func checkSendVerification(send bool, u *storage.User) error {
	switch {
	case !send:
		return nil
	case u.Email == "":
		return usagef("--send-verification needs --email")
	case u.EmailVerified:
		return usagef("--send-verification and --email-verified contradict each other")
	}
	return nil
}

// queueVerification queues the verification mail of the user just
// created in the store's outbox (issue 16): the link is on the configured
// issuer, the mail in the configured language and brand; a running server
// delivers it.
func (c *cli) queueVerification(ctx context.Context, cmd *dbCommand, st storage.Store, u *storage.User, quiet bool) error {
	cfg, err := c.loadDBConfig(cmd.cf)
	if err != nil {
		return err
	}
	if cfg.Issuer == "" {
		return errors.New("--send-verification needs the issuer for the link: set issuer in the config file or MONBAN_ISSUER")
	}
	id, err := web.QueueVerification(ctx, st, cfg.Issuer, cfg.Appearance, u, now)
	if err != nil {
		return fmt.Errorf("user %q created, but its verification mail was not queued: %w", u.Username, dbError(err))
	}
	if quiet {
		return nil
	}
	c.printf("Queued a verification mail to %s (outbox message %s); a running server sends it.\n", u.Email, id)
	return nil
}
