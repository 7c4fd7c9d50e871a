package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/monban-idp/monban/cmd/internal/app"
	"github.com/monban-idp/monban/op/keys"
	"github.com/monban-idp/monban/storage"
)

// keys runs "monban keys list|rotate|reencrypt".
func (c *cli) keys(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "keys", args,
		subcmd{"list", c.keysList},
		subcmd{"rotate", c.keysRotate},
		subcmd{"reencrypt", c.keysReencrypt},
	)
}

// keyJSON is a signing key as "--output json" prints it: never any key
// material, encrypted or not. Times that are not set are null.
type keyJSON struct {
	KID         string     `json:"kid"`
	Algorithm   string     `json:"algorithm"`
	State       string     `json:"state"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at"`
	RetiredAt   *time.Time `json:"retired_at"`
	RemoveAfter *time.Time `json:"remove_after"`
}

func toKeyJSON(k *storage.SigningKey) keyJSON {
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	return keyJSON{KID: k.ID, Algorithm: k.Algorithm, State: k.State, CreatedAt: k.CreatedAt.UTC(),
		ActivatedAt: opt(k.ActivatedAt), RetiredAt: opt(k.RetiredAt), RemoveAfter: opt(k.RemoveAfter)}
}

func (c *cli) keysList(ctx context.Context, args []string) error {
	cmd := c.dbCommand("keys list", "[--output json]", true)
	return cmd.run(ctx, args, 0, func(st storage.Store, _ []string, js bool) error {
		keys, err := st.ListSigningKeys(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, jsonList(keys, toKeyJSON))
		}
		tw := newTable(c.stdout)
		row(tw, "KID", "ALG", "STATE", "CREATED", "ACTIVATED", "RETIRED", "REMOVE AFTER")
		for _, k := range keys {
			row(tw, k.ID, k.Algorithm, k.State, formatTime(k.CreatedAt), formatTime(k.ActivatedAt),
				formatTime(k.RetiredAt), formatTime(k.RemoveAfter))
		}
		return tw.Flush()
	})
}

// withKeys parses a keys subcommand that needs the key-encryption secrets,
// opens the store and runs fn with the key manager. It loads every stored
// key first, so a wrong secret fails before anything is written.
func (c *cli) withKeys(ctx context.Context, cmd *dbCommand, args []string, fn func(k *keys.Keys, js bool) error) error {
	_, js, err := cmd.parse(args, 0)
	if err != nil {
		return err
	}
	cfg, err := c.loadDBConfig(cmd.cf)
	if err != nil {
		return err
	}
	if len(cfg.Secrets) == 0 {
		return errors.New("the key-encryption secrets are required: set MONBAN_SECRETS or MONBAN_SECRETS_FILE as for serve")
	}
	kek, err := keys.ParseKeyEncryptionKeys(cfg.Secrets)
	if err != nil {
		return fmt.Errorf("MONBAN_SECRETS: %w", err)
	}
	return cmd.withStore(ctx, func(st storage.Store) error {
		k := keys.New(st, kek, now)
		if err := k.SetPolicy(app.KeyPolicy(*cfg)); err != nil {
			return err
		}
		if err := k.Load(ctx); err != nil {
			return dbError(err)
		}
		return fn(k, js)
	})
}

// rotationJSON is one algorithm's result of "keys rotate --output json".
type rotationJSON struct {
	Algorithm string `json:"algorithm"`
	Rotated   bool   `json:"rotated"`
	Retired   string `json:"retired_kid,omitempty"`
	Current   string `json:"current_kid"`
	Next      string `json:"next_kid"`
	// PublishedForSeconds is how long the new current key was in the JWKS
	// before it started signing.
	PublishedForSeconds int64      `json:"published_for_seconds"`
	RetryAt             *time.Time `json:"retry_at,omitempty"`
}

// keysRotate rotates every algorithm now: the pre-published next key signs,
// the current key retires. See keys.Keys.ForceRotate for why it refuses a
// next key published for less than the lead unless --immediately.
func (c *cli) keysRotate(ctx context.Context, args []string) error {
	cmd := c.dbCommand("keys rotate", "[--immediately] [--output json]", true)
	immediately := cmd.fs.Bool("immediately", false,
		"promote next keys published for less than "+keys.DefaultKeyLead.String()+" too (relying parties with a cached JWKS may reject tokens until they refetch it)")
	return c.withKeys(ctx, cmd, args, func(k *keys.Keys, js bool) error {
		res, err := k.ForceRotate(ctx, *immediately, keys.SupportedAlgorithms...)
		var waiting int
		out := jsonList(res, func(r keys.KeyRotation) rotationJSON {
			j := rotationJSON{Algorithm: r.Algorithm, Rotated: r.Rotated, Retired: r.Retired, Current: r.Current,
				Next: r.Next, PublishedForSeconds: int64(r.PublishedFor / time.Second)}
			if !r.Rotated {
				waiting++
				t := r.RetryAt.UTC()
				j.RetryAt = &t
			}
			return j
		})
		if js {
			if werr := writeJSON(c.stdout, out); werr != nil {
				return werr
			}
		} else {
			c.printRotations(res, k.Policy().Lead)
		}
		if err != nil {
			return dbError(err)
		}
		if waiting > 0 {
			return fmt.Errorf("%d algorithm(s) not rotated: their next key is not published long enough yet (rerun later, or pass --immediately)", waiting)
		}
		return nil
	})
}

func (c *cli) printRotations(res []keys.KeyRotation, lead time.Duration) {
	tw := newTable(c.stdout)
	row(tw, "ALG", "RESULT", "RETIRED", "SIGNING NOW", "NEXT")
	for _, r := range res {
		result := "rotated"
		if !r.Rotated {
			result = "waiting until " + formatTime(r.RetryAt)
		}
		row(tw, r.Algorithm, result, orDash(r.Retired), orDash(r.Current), orDash(r.Next))
	}
	_ = tw.Flush()
	for _, r := range res {
		if r.Rotated && r.Retired != "" && r.PublishedFor < lead {
			c.printf("Warning: %s key %s signs after only %s in the JWKS: relying parties that cached the JWKS before may reject its tokens for up to %s.\n",
				r.Algorithm, r.Current, r.PublishedFor.Round(time.Second), keys.JWKSMaxAge)
		}
	}
	rotated := 0
	for _, r := range res {
		if r.Rotated {
			rotated++
		}
	}
	switch {
	case rotated == 0:
		c.printf("Nothing was rotated: the keys in use stay in use.\n")
	default:
		c.printf("Running servers switch to the new keys within %s; retired keys stay published until their remove-after time.\n", keys.DefaultKeyRefresh)
	}
}

// keysReencrypt re-encrypts every key under the first configured secret.
func (c *cli) keysReencrypt(ctx context.Context, args []string) error {
	cmd := c.dbCommand("keys reencrypt", "[--output json]", true)
	return c.withKeys(ctx, cmd, args, func(k *keys.Keys, js bool) error {
		res, err := k.Reencrypt(ctx)
		if err != nil {
			return dbError(err)
		}
		if js {
			return writeJSON(c.stdout, struct {
				Reencrypted []string `json:"reencrypted"`
				Unchanged   []string `json:"unchanged"`
			}{nonNil(res.Reencrypted), nonNil(res.Unchanged)})
		}
		c.printf("Re-encrypted %d signing key(s) under the first secret; %d already were.\n", len(res.Reencrypted), len(res.Unchanged))
		if len(res.Reencrypted) > 0 {
			c.printf("Once every replica runs with the new secret first, the old one can be removed from MONBAN_SECRETS.\n")
		}
		return nil
	})
}
