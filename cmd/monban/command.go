package main

import (
	"context"
	"flag"

	"github.com/monban-idp/monban/storage"
)

// dbCommand is a subcommand that works on the database (migrate, user,
// client). Besides its own flags it takes --config and --database-url
// and, when it prints records, --output.
type dbCommand struct {
	c      *cli
	fs     *flag.FlagSet        // the command adds its own flags before parsing
	cf     *configFlags         // --config and --database-url
	output func() (bool, error) // nil when the command has no --output
}

// dbCommand returns a dbCommand named name (e.g. "client add") whose -h
// shows synopsis. withOutput adds --output text|json.
func (c *cli) dbCommand(name, synopsis string, withOutput bool) *dbCommand {
	fs := c.newFlagSet(name, synopsis)
	d := &dbCommand{c: c, fs: fs, cf: addConfigFlags(fs, "database_url")}
	if withOutput {
		d.output = outputFlag(fs)
	}
	return d
}

// parse parses args, which must hold nargs positional arguments, and
// returns those and whether --output json was asked for.
func (d *dbCommand) parse(args []string, nargs int) ([]string, bool, error) {
	pos, err := parseArgs(d.fs, args, nargs)
	if err != nil {
		return nil, false, err
	}
	if d.output == nil {
		return pos, false, nil
	}
	asJSON, err := d.output()
	if err != nil {
		return nil, false, err
	}
	return pos, asJSON, nil
}

// parseDSN is parse for a command that takes no positional arguments and
// connects by itself (migrate): it returns the database URL and whether
// JSON output was asked for.
func (d *dbCommand) parseDSN(args []string) (dsn string, asJSON bool, err error) {
	_, asJSON, err = d.parse(args, 0)
	if err != nil {
		return "", false, err
	}
	cfg, err := d.c.loadDBConfig(d.cf)
	if err != nil {
		return "", false, err
	}
	return cfg.DatabaseURL, asJSON, nil
}

// withStore opens the store, runs fn with it and closes it.
func (d *dbCommand) withStore(ctx context.Context, fn func(storage.Store) error) error {
	st, err := d.c.openStore(ctx, d.cf)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// run parses args like parse, opens the store and runs fn with the store,
// the positional arguments and whether JSON output was asked for.
func (d *dbCommand) run(ctx context.Context, args []string, nargs int, fn func(st storage.Store, pos []string, asJSON bool) error) error {
	pos, asJSON, err := d.parse(args, nargs)
	if err != nil {
		return err
	}
	return d.withStore(ctx, func(st storage.Store) error { return fn(st, pos, asJSON) })
}
