// Command monban is the monban OpenID Connect provider: one binary that
// serves the provider (serve), applies database migrations (migrate) and
// manages users, clients and signing keys (user, client, keys).
//
// Run "monban help" for usage. Errors go to stderr as single lines
// prefixed with "monban: <command>:"; the exit code is 0 on success, 1
// when a command fails, and 2 for usage errors.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/monban-idp/monban/cmd/internal/app"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // display_time_zone works on hosts without zoneinfo (distroless images)

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
)

const usageText = `monban is an OpenID Connect provider.

Usage:
  monban serve [--dev] [--config FILE] [--issuer URL] [--listen ADDR] [--management-listen ADDR] [--database-url DSN]
  monban migrate up|status
  monban config check [--dev] [--output json]
  monban user add --username U [--email E] [--name N] [--admin] [--email-verified] [claim flags] --password-stdin
  monban user list
  monban user show U
  monban user update U [--username NEW] [--email E] [--email-verified[=BOOL]] [claim flags] [--attribute K=V...]
  monban user passwd U --password-stdin
  monban user disable U
  monban user enable U
  monban user delete U
  monban user logout-everywhere U
  monban user grant-admin U
  monban user revoke-admin U
  monban user import FILE [--format jsonl|csv] [--batch-size N]
  monban user export [--include-password-hashes]
  monban group add|delete|show NAME
  monban group rename NAME NEW-NAME
  monban group list
  monban group add-member|remove-member NAME USERNAME
  monban client add --id ID --name NAME --redirect-uri URI... [--post-logout-redirect-uri URI...]
                    [--public] [--native] [--consent] [--grant G,G] [--scope "S S"] [--offline-access]
                    [--backchannel-logout-uri URI] [--access-token-ttl D] [--refresh-token-ttl D]
                    [--allowed-group NAME...] [--claim-mapping CLAIM=ATTR[@SCOPE]...]
  monban client update ID [--name NAME] [--redirect-uri URI...] [--post-logout-redirect-uri URI...]
                    [--consent=BOOL] [--scope "S S"] [--offline-access=BOOL]
                    [--backchannel-logout-uri URI] [--access-token-ttl D] [--refresh-token-ttl D]
                    [--allowed-group NAME...] [--claim-mapping CLAIM=ATTR[@SCOPE]...]
  monban client list
  monban client show ID
  monban client delete ID
  monban client rotate-secret ID
  monban apply -f FILE [--dry-run] [--prune] [--adopt] [--server URL --token-file FILE] [--output json]
  monban keys list
  monban connectors list   (upstream identity providers of the configuration)
  monban user links USERNAME | unlink USERNAME CONNECTOR SUBJECT
  monban keys rotate [--immediately]
  monban keys reencrypt
  monban logout-deliveries failed
  monban mail failed       (messages given up, with the reason)
  monban demo              (the dev provider plus two demo apps on app1/app2.localhost)
  monban version           (also --version: version, commit, Go version)
  monban help [COMMAND [SUBCOMMAND]]

The add, update, show, list, rotate-secret, keys, logout-deliveries and
migrate status commands take --output json. The migrate, user, group, client and keys commands
take --config FILE and --database-url DSN; keys rotate and reencrypt also
need MONBAN_SECRETS.

Configuration (highest precedence first): flags, environment variables,
the YAML file given by --config or $MONBAN_CONFIG, defaults.
  MONBAN_ISSUER  MONBAN_LISTEN  MONBAN_DATABASE_URL[_FILE]  MONBAN_SECRETS[_FILE]
  MONBAN_SESSION_IDLE_TIMEOUT  MONBAN_SESSION_MAX_AGE  MONBAN_LOG_LEVEL  MONBAN_LOG_FORMAT
  MONBAN_ACCESS_TOKEN_ALG  MONBAN_KEY_ROTATION_PERIOD  MONBAN_MANAGEMENT_LISTEN
  MONBAN_TLS_CERT_FILE  MONBAN_TLS_KEY_FILE (both: serve https; neither: plain HTTP behind a proxy)

Run "monban help <command> [<subcommand>]" (or add -h) for the flags of a command.
Help goes to stdout with exit code 0; usage errors to stderr with exit code 2.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// cli is what every command runs with: the process's streams and
// environment, injected so tests run commands in-process.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

// run executes the command line args (without the program name) and returns
// the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	var err error
	switch name, rest := args[0], args[1:]; name {
	case "serve":
		err = c.serve(ctx, rest)
	case "migrate":
		err = c.migrate(ctx, rest)
	case "user":
		err = c.user(ctx, rest)
	case "client":
		err = c.client(ctx, rest)
	case "group":
		err = c.group(ctx, rest)
	case "apply":
		err = named("apply", c.apply(ctx, rest))
	case "keys":
		err = c.keys(ctx, rest)
	case "demo":
		err = c.demo(ctx, rest)
	case "logout-deliveries":
		err = c.logoutDeliveries(ctx, rest)
	case "mail":
		err = c.mail(ctx, rest)
	case "config":
		err = c.config(ctx, rest)
	case "connectors":
		err = c.connectors(ctx, rest)
	case "version", "--version", "-version":
		err = named("version", c.version(rest))
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 || name != "help" {
			fmt.Fprint(stdout, usageText)
			return 0
		}
		// "help client add" is "client add -h".
		if !slices.Contains(commands, rest[0]) {
			fmt.Fprintf(stderr, "monban: help: unknown command %q\n\n%s", rest[0], usageText)
			return 2
		}
		return run(ctx, append(slices.Clone(rest), "-h"), stdin, stdout, stderr, getenv)
	default:
		fmt.Fprintf(stderr, "monban: unknown command %q\n\n%s", name, usageText)
		return 2
	}
	return c.report(err)
}

// commands are the top-level commands run dispatches.
var commands = []string{"serve", "migrate", "user", "client", "group", "keys", "demo", "logout-deliveries", "config", "connectors", "version", "apply"}

// printf writes to stdout. Write errors on stdout are not actionable for a
// CLI and are ignored, like fmt.Printf's.
func (c *cli) printf(format string, a ...any) {
	fmt.Fprintf(c.stdout, format, a...)
}

// cmdError names the command an error came from.
type cmdError struct {
	name string // e.g. "client add"
	err  error
}

// Error implements error.
func (e *cmdError) Error() string { return e.name + ": " + e.err.Error() }

// Unwrap returns the command's error.
func (e *cmdError) Unwrap() error { return e.err }

// named attaches the command name to err (nil stays nil).
func named(name string, err error) error {
	if err == nil {
		return nil
	}
	return &cmdError{name: name, err: err}
}

// usageError is a mistake on the command line; it exits with code 2.
type usageError struct{ msg string }

// Error implements error.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// errReported means the problem was already printed (by package flag).
var errReported = errors.New("usage already reported")

// errHelp means help was asked for and printed on stdout: exit code 0.
var errHelp = errors.New("help printed")

// report prints err to stderr and returns the exit code.
func (c *cli) report(err error) int {
	if err == nil {
		return 0
	}
	prefix, cmd := "monban", ""
	var ce *cmdError
	if errors.As(err, &ce) {
		cmd, err = ce.name, ce.err
		prefix = "monban: " + cmd
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	if errors.Is(err, errReported) {
		return 2
	}
	for _, line := range errorLines(err) {
		fmt.Fprintf(c.stderr, "%s: %s\n", prefix, line)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(c.stderr, "Run 'monban %s -h' for usage.\n", cmd)
		return 2
	}
	return 1
}

// errorLines flattens err into lines: one per joined error, each a single
// line (a multi-line message is folded).
func errorLines(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	var parts []string
	for _, l := range strings.Split(err.Error(), "\n") {
		// Drivers repeat a line per connection attempt: keep one.
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(parts, l) {
			parts = append(parts, l)
		}
	}
	return []string{strings.Join(parts, " ")}
}

// newFlagSet returns a FlagSet for one (sub)command: -h prints its usage
// on stdout (exit 0), parse errors and the usage after them go to stderr
// (exit 2); see parseArgs.
func (c *cli) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &flagOutput{stdout: c.stdout, stderr: c.stderr}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: monban %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagOutput is a FlagSet's output: stderr, or stdout once help was asked
// for.
type flagOutput struct {
	stdout, stderr io.Writer
	help           bool
}

// Write implements io.Writer.
func (o *flagOutput) Write(p []byte) (int, error) {
	if o.help {
		return o.stdout.Write(p)
	}
	return o.stderr.Write(p)
}

// parseFlags parses args like fs.Parse, but prints the usage itself: on
// stdout for -h, -help or --help (errHelp), on stderr after a parse error
// (errReported).
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // printed below, once the cause is known
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		if o, ok := fs.Output().(*flagOutput); ok {
			o.help = true
			defer func() { o.help = false }()
		}
		fs.Usage()
		return errHelp
	default:
		fs.Usage()
		return errReported
	}
}

// parseArgs parses flags and positional arguments in any order ("user
// passwd alice --password-stdin") and checks the number of positional
// arguments. Arguments after "--" are positional.
func parseArgs(fs *flag.FlagSet, args []string, wantPositional int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) != wantPositional {
		switch {
		case wantPositional == 0:
			return nil, usagef("unexpected argument %q", pos[0])
		case len(pos) < wantPositional:
			return nil, usagef("missing argument")
		default:
			return nil, usagef("too many arguments")
		}
	}
	return pos, nil
}

// subcommand splits "group sub args..." and reports a missing or unknown
// subcommand as a usage error. "group -h" prints the group's synopsis.
func (c *cli) subcommand(group string, args []string, subs ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("want a subcommand: %s", strings.Join(subs, ", "))
	}
	if a := args[0]; a == "-h" || a == "-help" || a == "--help" || a == "help" {
		fmt.Fprint(c.stdout, groupUsage(group))
		return "", nil, errHelp
	}
	for _, s := range subs {
		if args[0] == s {
			return s, args[1:], nil
		}
	}
	return "", nil, usagef("unknown subcommand %q (want one of %s)", args[0], strings.Join(subs, ", "))
}

// subcmd is one subcommand of a command group, such as "add" of "client".
type subcmd struct {
	name string
	run  func(ctx context.Context, args []string) error
}

// runGroup runs the subcommand of group that args start with (see
// subcommand) and names its errors after it, e.g. "client add".
func (c *cli) runGroup(ctx context.Context, group string, args []string, subs ...subcmd) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	name, rest, err := c.subcommand(group, args, names...)
	if err != nil {
		return named(group, err)
	}
	sub := subs[slices.Index(names, name)]
	return named(group+" "+name, sub.run(ctx, rest))
}

// groupUsage returns the lines of usageText for one command group.
func groupUsage(group string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	in := false
	for _, l := range strings.Split(usageText, "\n") {
		switch {
		case strings.HasPrefix(l, "  monban "+group+" ") || l == "  monban "+group:
			in = true
		case in && strings.HasPrefix(l, "      "): // continuation line
		default:
			in = false
		}
		if in {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// serve parses the serve command line and hands over to runServe.
func (c *cli) serve(ctx context.Context, args []string) error {
	fs := c.newFlagSet("serve", "[--dev] [--config FILE] [--issuer URL] [--listen ADDR] [--management-listen ADDR] [--database-url DSN]")
	dev := fs.Bool("dev", false, "development mode: in-memory store, demo user and clients, http://localhost issuer")
	cf := addConfigFlags(fs, "issuer", "listen", "management_listen", "database_url")
	if _, err := parseArgs(fs, args, 0); err != nil {
		return named("serve", err)
	}
	cfg, err := cf.load(c.getenv)
	if err := errors.Join(err, cfg.Validate(*dev)); err != nil {
		return named("serve", err)
	}
	tuneGC(c.getenv)
	return named("serve", runServe(ctx, cfg, *dev, c.stdout))
}

// loadDBConfig loads the configuration for a command that only needs the
// database (migrate, user, client) and checks that a database URL is set.
func (c *cli) loadDBConfig(cf *configFlags) (*app.Config, error) {
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("database URL is required: set MONBAN_DATABASE_URL, MONBAN_DATABASE_URL_FILE, database_url in the config file, or --database-url")
	}
	return cfg, nil
}

// openStore loads the configuration and opens the PostgreSQL store. The
// caller closes it.
func (c *cli) openStore(ctx context.Context, cf *configFlags) (storage.Store, error) {
	cfg, err := c.loadDBConfig(cf)
	if err != nil {
		return nil, err
	}
	s, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, dbError(err)
	}
	return s, nil
}

// now is the time stamp for rows the CLI writes: UTC, at the microsecond
// precision PostgreSQL keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// dbError turns a storage or driver error into a message for an operator:
// one line, no SQL dump.
func dbError(err error) error {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	switch {
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("the database did not answer in time")
	case errors.As(err, &pgErr) && pgErr.Code == "42P01": // undefined_table
		return errors.New("the database has no monban schema: run 'monban migrate up' first")
	case errors.As(err, &pgErr):
		return fmt.Errorf("database error: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	case errors.As(err, &connErr):
		return fmt.Errorf("cannot connect to the database: %v", connErr)
	}
	return err
}
