package main

import (
	"context"
	"strconv"
	"time"

	"github.com/monban-idp/monban/migrations"
)

// migrate runs "monban migrate up|status".
func (c *cli) migrate(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "migrate", args,
		subcmd{"up", c.migrateUp},
		subcmd{"status", c.migrateStatus},
	)
}

// migrateUp applies every pending migration. Several replicas may run it
// at once: package migrations serialises them with an advisory lock.
func (c *cli) migrateUp(ctx context.Context, args []string) error {
	cmd := c.dbCommand("migrate up", "[--config FILE] [--database-url DSN]", false)
	dsn, _, err := cmd.parseDSN(args)
	if err != nil {
		return err
	}
	before, err := migrations.Status(ctx, dsn)
	if err != nil {
		return dbError(err)
	}
	if err := migrations.Up(ctx, dsn); err != nil {
		return dbError(err)
	}
	after, err := migrations.Status(ctx, dsn)
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

func toMigrationJSON(st migrations.MigrationStatus) migrationJSON {
	m := migrationJSON{Version: st.Version, Name: st.Name, Applied: st.Applied}
	if st.Applied {
		at := st.AppliedAt.UTC()
		m.AppliedAt = &at
	}
	return m
}

// migrateStatus lists the known migrations and whether each is applied.
func (c *cli) migrateStatus(ctx context.Context, args []string) error {
	cmd := c.dbCommand("migrate status", "[--config FILE] [--database-url DSN] [--output json]", true)
	dsn, js, err := cmd.parseDSN(args)
	if err != nil {
		return err
	}
	sts, err := migrations.Status(ctx, dsn)
	if err != nil {
		return dbError(err)
	}
	if js {
		return writeJSON(c.stdout, jsonList(sts, toMigrationJSON))
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
