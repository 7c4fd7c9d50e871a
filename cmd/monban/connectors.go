package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/connector"
)

// connectors runs "monban connectors list": the upstream identity
// providers of the configuration (issue 18), secrets never printed.
func (c *cli) connectors(ctx context.Context, args []string) error {
	return c.runGroup(ctx, "connectors", args, subcmd{"list", c.connectorsList})
}

func (c *cli) connectorsList(_ context.Context, args []string) error {
	fs := c.newFlagSet("connectors list", "[--config FILE] [--output json]")
	cf := addConfigFlags(fs)
	asJSON := outputFlag(fs)
	if _, err := parseArgs(fs, args, 0); err != nil {
		return err
	}
	js, err := asJSON()
	if err != nil {
		return err
	}
	cfg, err := cf.load(c.getenv)
	if err != nil {
		return err
	}
	if err := connector.Validate(cfg.Connectors); err != nil {
		return err
	}
	if js {
		list := cfg.Connectors
		if list == nil {
			list = []connector.Config{}
		}
		return writeJSON(c.stdout, list) // connector.Config's JSON leaves secrets out
	}
	tw := newTable(c.stdout)
	row(tw, "ID", "TYPE", "NAME", "UPSTREAM", "JIT", "SECRET")
	for _, k := range cfg.Connectors {
		upstream := k.Issuer
		switch k.Type {
		case connector.TypeGitHub:
			upstream = k.BaseURL
			if upstream == "" {
				upstream = "https://github.com"
			}
		case connector.TypeLDAP:
			upstream = k.LDAP.URL
		}
		secret := "-"
		switch {
		case k.ClientSecretFile != "":
			secret = "file " + k.ClientSecretFile
		case k.ClientSecret != "":
			secret = "(set)"
		case k.LDAP != nil && k.LDAP.BindPasswordFile != "":
			secret = "file " + k.LDAP.BindPasswordFile
		case k.LDAP != nil && k.LDAP.BindPassword != "":
			secret = "(set)"
		}
		row(tw, k.ID, k.Type, k.Name.For(""), upstream, fmt.Sprint(k.JIT), secret)
	}
	return tw.Flush()
}

// linkJSON is a linked upstream identity as "user links --output json"
// prints it.
type linkJSON struct {
	Connector string    `json:"connector"`
	Subject   string    `json:"subject"`
	Email     string    `json:"email,omitempty"`
	Groups    []string  `json:"groups,omitempty"`
	Created   time.Time `json:"created_at"`
	LastUsed  time.Time `json:"last_used_at"`
}

// userLinks runs "monban user links USERNAME".
func (c *cli) userLinks(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user links", "USERNAME [--output json]", true)
	return cmd.run(ctx, args, 1, func(st storage.Store, pos []string, js bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		links, err := st.ListUserFederatedIdentities(ctx, u.ID)
		if err != nil {
			return dbError(err)
		}
		out := make([]linkJSON, 0, len(links))
		for _, l := range links {
			out = append(out, linkJSON{Connector: l.ConnectorID, Subject: l.Subject, Email: l.Email, Groups: l.Groups,
				Created: l.CreatedAt.UTC(), LastUsed: l.LastUsedAt.UTC()})
		}
		if js {
			return writeJSON(c.stdout, out)
		}
		tw := newTable(c.stdout)
		row(tw, "CONNECTOR", "SUBJECT", "EMAIL", "GROUPS", "LAST USED")
		for _, l := range out {
			row(tw, l.Connector, l.Subject, l.Email, strings.Join(l.Groups, ","), l.LastUsed.Format(time.RFC3339))
		}
		return tw.Flush()
	})
}

// userUnlink runs "monban user unlink USERNAME CONNECTOR SUBJECT".
func (c *cli) userUnlink(ctx context.Context, args []string) error {
	cmd := c.dbCommand("user unlink", "USERNAME CONNECTOR SUBJECT", false)
	return cmd.run(ctx, args, 3, func(st storage.Store, pos []string, _ bool) error {
		u, err := getUser(ctx, st, pos[0])
		if err != nil {
			return err
		}
		err = st.Atomically(ctx, func(tx storage.Store) error {
			l, err := tx.GetFederatedIdentity(ctx, pos[1], pos[2])
			if err != nil {
				return err
			}
			if l.UserID != u.ID {
				return fmt.Errorf("linked to another user: %w", storage.ErrNotFound)
			}
			if err := tx.DeleteFederatedIdentity(ctx, pos[1], pos[2]); err != nil {
				return err
			}
			return auditCLI(ctx, tx, storage.ActionIdentityUnlinked, "user:"+u.ID,
				"upstream "+pos[1]+" subject "+pos[2]+" unlinked", nil, nil)
		})
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%q has no linked identity %s %s", pos[0], pos[1], pos[2])
		}
		if err != nil {
			return dbErrorUnlessPlain(err)
		}
		c.printf("Unlinked %s %s from %q.\n", pos[1], pos[2], pos[0])
		return nil
	})
}
