package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/session"
)

// reasonFactorsReset is logged when an administrator's factor reset ends
// the person's sessions.
const reasonFactorsReset = "factors_reset"

// factorsJSON is what "user factors --output json" prints.
type factorsJSON struct {
	Username          string        `json:"username"`
	TOTP              string        `json:"totp"` // "none", "pending" or "confirmed"
	RecoveryCodesLeft int           `json:"recovery_codes_left"`
	Passkeys          []passkeyJSON `json:"passkeys"`
}

// passkeyJSON is one WebAuthn credential of "user factors".
type passkeyJSON struct {
	Name     string     `json:"name"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"last_used,omitempty"` // nil: never used
	// Synced is the credential's backup eligibility: a synced passkey
	// (amr swk) rather than one bound to a device (hwk).
	Synced bool `json:"synced"`
}

// userFactors shows which second factors a person has (issue 17).
func (c *cli) userFactors(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user factors", "USERNAME [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		out := factorsJSON{Username: u.Username, TOTP: "none", Passkeys: []passkeyJSON{}}
		switch t, err := st.GetTOTP(ctx, u.ID); {
		case err == nil && t.Confirmed():
			out.TOTP = "confirmed"
		case err == nil:
			out.TOTP = "pending"
		case !errors.Is(err, storage.ErrNotFound):
			return dbError(err)
		}
		if out.RecoveryCodesLeft, err = st.CountRecoveryCodes(ctx, u.ID); err != nil {
			return dbError(err)
		}
		creds, err := st.ListWebAuthnCredentials(ctx, u.ID)
		if err != nil {
			return dbError(err)
		}
		for _, cr := range creds {
			p := passkeyJSON{Name: cr.Name, Created: cr.CreatedAt.UTC(), Synced: cr.BackupEligible}
			if !cr.LastUsedAt.IsZero() {
				at := cr.LastUsedAt.UTC()
				p.LastUsed = &at
			}
			out.Passkeys = append(out.Passkeys, p)
		}
		if js {
			return writeJSON(c.stdout, out)
		}
		tw := newTable(c.stdout)
		row(tw, "Username:", out.Username)
		row(tw, "TOTP:", out.TOTP)
		row(tw, "Recovery codes left:", fmt.Sprint(out.RecoveryCodesLeft))
		row(tw, "Passkeys:", fmt.Sprint(len(out.Passkeys)))
		for _, p := range out.Passkeys {
			used := "never used"
			if p.LastUsed != nil {
				used = "last used " + p.LastUsed.Format(time.RFC3339)
			}
			kind := "device-bound"
			if p.Synced {
				kind = "synced"
			}
			row(tw, "", p.Name, "added "+p.Created.Format(time.RFC3339), used, kind)
		}
		return tw.Flush()
	})
}

// userResetFactors removes every second factor of a person (a lost
// phone) with an audit entry, then ends their sessions, so the next
// sign-in starts from the password (and enrols again where a policy
// needs a factor).
func (c *cli) userResetFactors(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user reset-factors", "USERNAME", false)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, _ bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		err = st.Atomically(ctx, func(tx storage.Store) error {
			if err := tx.DeleteFactors(ctx, u.ID); err != nil {
				return err
			}
			return auditCLI(ctx, tx, storage.ActionFactorReset, "user:"+u.ID, "second factors removed", nil, nil)
		})
		if err != nil {
			return dbErrorUnlessPlain(err)
		}
		sessions, err := session.New(session.Config{Store: st, Now: now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		n, err := sessions.EndUserSessions(ctx, u.ID, reasonFactorsReset)
		if err != nil {
			return dbError(err)
		}
		c.printf("Removed the second factors of %q; signed out %d session(s).\n", pos[0], n)
		return nil
	})
}
