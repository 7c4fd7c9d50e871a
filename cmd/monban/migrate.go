package main

import (
	"context"
	"strconv"
	"time"

	"github.com/monban-idp/monban/migrations"
)

// migrate runs "monban migrate up|status".
func (c *cli) migrate(ctx context.Context, args []string) error {
	sub, rest, err := c.subcommand("migrate", args, "up", "status")
	if err != nil {
		return named("migrate", err)
	}
	switch sub {
	case "up":
		return named("migrate up", c.migrateUp(ctx, rest))
	default:
		return named("migrate status", c.migrateStatus(ctx, rest))
	}
}

// migrateUp applies every pending migration. Several replicas may run it
// at once: package migrations serialises them with an advisory lock.
func (c *cli) migrateUp(ctx context.Context, args []string) error {
	fs := c.newFlagSet("migrate up", "[--config FILE] [--database-url DSN]")
	cf := addConfigFlags(fs, "database_url")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	cfg, err := c.loadDBConfig(cf)
	if err != nil {
		return err
	}
	before, err := migrations.Status(ctx, cfg.DatabaseURL)
	if err != nil {
		return dbError(err)
	}
	if err := migrations.Up(ctx, cfg.DatabaseURL); err != nil {
		return dbError(err)
	}
	after, err := migrations.Status(ctx, cfg.DatabaseURL)
	if err != nil {
		return dbError(err)
	}
	had := make(map[int64]bool)
	for _, st := range before {
		had[st.Version] = st.Applied
	}
	applied, latest := 0, ""
	for _, st := range after {
		if st.Applied && !had[st.Version] {
			applied++
		}
		if st.Applied {
			latest = st.Name
		}
	}
	c.printf("Applied %d migration(s); the schema is up to date (latest: %s).\n", applied, orDash(latest))
	return nil
}

// migrationJSON is one row of "migrate status --output json".
type migrationJSON struct {
	Version   int64      `json:"version"`
	Name      string     `json:"name"`
	Applied   bool       `json:"applied"`
	AppliedAt *time.Time `json:"applied_at,omitempty"`
}

// migrateStatus lists the known migrations and whether each is applied.
func (c *cli) migrateStatus(ctx context.Context, args []string) error {
	fs := c.newFlagSet("migrate status", "[--config FILE] [--database-url DSN] [--output json]")
	cf := addConfigFlags(fs, "database_url")
	asJSON := outputFlag(fs)
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	js, err := asJSON()
	if err != nil {
		return err
	}
	cfg, err := c.loadDBConfig(cf)
	if err != nil {
		return err
	}
	sts, err := migrations.Status(ctx, cfg.DatabaseURL)
	if err != nil {
		return dbError(err)
	}
	if js {
		out := make([]migrationJSON, 0, len(sts))
		for _, st := range sts {
			m := migrationJSON{Version: st.Version, Name: st.Name, Applied: st.Applied}
			if st.Applied {
				at := st.AppliedAt.UTC()
				m.AppliedAt = &at
			}
			out = append(out, m)
		}
		return writeJSON(c.stdout, out)
	}
	tw := newTable(c.stdout)
	row(tw, "VERSION", "NAME", "APPLIED")
	pending := 0
	for _, st := range sts {
		name, applied := st.Name, "pending"
		if name == "" {
			name = "(unknown: applied by a newer monban)"
		}
		if st.Applied {
			applied = formatTime(st.AppliedAt)
		} else {
			pending++
		}
		row(tw, strconv.FormatInt(st.Version, 10), name, applied)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if pending > 0 {
		c.printf("%d migration(s) pending: run 'monban migrate up'.\n", pending)
	}
	return nil
}
