package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/monban-idp/monban/cmd/internal/app"
)

// config runs "monban config check".
func (c *cli) config(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "config", args, subcmd{"check", c.configCheck})
}

// configCheck loads and validates the configuration exactly as serve does
// and prints the effective values, secrets redacted (database password,
// key-encryption secrets). Every problem is reported, and the exit code is
// then 1; the configuration is printed either way, so what was read can be
// compared with what was meant.
func (c *cli) configCheck(_ context.Context, args []string) error {
	fs := c.newFlagSet("config check", "[--dev] [--config FILE] [--issuer URL] [--listen ADDR] [--management-listen ADDR] [--database-url DSN] [--output json]")
	dev := fs.Bool("dev", false, "check as serve --dev would (issuer, database and secrets optional)")
	cf := addConfigFlags(fs, "issuer", "listen", "management_listen", "database_url")
	asJSON := outputFlag(fs)
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	js, err := asJSON()
	if err != nil {
		return err
	}
	cfg, loadErr := cf.load(c.getenv)
	entries := configEntries(cfg)
	if js {
		if err := writeJSON(c.stdout, entries); err != nil {
			return err
		}
	} else {
		for _, e := range entries.list {
			c.printf("%s: %s\n", e.key, e.text)
		}
	}
	return errors.Join(loadErr, cfg.Validate(*dev), checkDatabaseURL(cfg.DatabaseURL))
}

// checkDatabaseURL parses dsn as serve's connection pool will and says
// what is wrong without repeating the DSN, whose password the driver's
// own errors can contain. The common failure is a password with
// characters that end the URL's user information early (/ ? # @), as a
// base64 password has a third of the time.
func checkDatabaseURL(dsn string) error {
	if dsn == "" {
		return nil
	}
	_, err := pgxpool.ParseConfig(dsn)
	if err == nil {
		return nil
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return errors.New("database URL: not a valid key=value connection string " +
			"(quote values holding spaces with single quotes, as in password='a b'), " +
			"nor a URL starting with postgres:// or postgresql://")
	}
	u, uerr := url.Parse(dsn)
	if uerr != nil {
		return errors.New("database URL: not a valid URL. If the user name or password holds any of / ? # @ : % " +
			"or spaces, percent-encode them (/ as %2F, ? as %3F, # as %23, @ as %40, : as %3A, % as %25), " +
			"or use a password of letters and digits (e.g. openssl rand -hex 24)")
	}
	msg := err.Error()
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return fmt.Errorf("database URL %s: the PostgreSQL driver cannot use it: %s", app.RedactDSN(dsn), msg)
}

// configEntry is one effective setting as config check prints it.
type configEntry struct {
	key  string
	text string          // YAML-ish value
	json json.RawMessage // JSON value
}

// configList is the effective configuration in Config.LogValue's order.
type configList struct{ list []configEntry }

// MarshalJSON writes the settings as one object, keys in order.
func (l configList) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range l.list {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(e.json)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// configEntries lists the effective configuration from Config.LogValue,
// which already redacts the database password and reduces the secrets to
// their number: config check can never print more than the logs do.
func configEntries(cfg *app.Config) configList {
	var l configList
	for _, a := range cfg.LogValue().Group() {
		e := configEntry{key: a.Key}
		v := a.Value.Resolve()
		switch {
		case a.Key == "secrets" && v.Kind() == slog.KindInt64:
			n := int(v.Int64())
			items := make([]string, n)
			for i := range items {
				items[i] = `"(redacted)"`
			}
			e.text = "[" + strings.Join(items, ", ") + "]"
			e.json = json.RawMessage(e.text)
		case a.Key == "connectors": // secrets are left out of the JSON (connector.Config)
			e.json, _ = json.Marshal(v.Any())
			e.text = string(e.json)
		case v.Kind() == slog.KindString:
			e.text = strconv.Quote(v.String())
			e.json, _ = json.Marshal(v.String())
		case v.Kind() == slog.KindDuration:
			e.text = v.Duration().String()
			e.json, _ = json.Marshal(v.Duration().String())
		default:
			e.text = v.String()
			e.json, _ = json.Marshal(v.Any())
		}
		l.list = append(l.list, e)
	}
	return l
}
