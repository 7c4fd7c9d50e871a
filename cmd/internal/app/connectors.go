package app

import (
	"errors"
	"fmt"

	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/github"
	"github.com/monban-idp/monban/web/connector/ldap"
	"github.com/monban-idp/monban/web/connector/oidc"
)

// webConnectors builds the upstream identity providers from the
// configuration (issue 18): a button on the sign-in page for each OpenID
// provider and GitHub, and a directory that checks the sign-in form's
// password for each LDAP connector. Nothing is contacted here: an OpenID
// provider is discovered and a directory dialled at its first use, so an
// upstream that is down does not keep monban from starting. closers are
// the directories' connection pools, for App.Close (also on an error,
// for the ones built so far).
func webConnectors(list []connector.Config) (out []web.Connector, closers []func() error, err error) {
	for _, c := range list {
		wc := web.Connector{ID: c.ID, Names: c.Name, JIT: c.JIT, EndSessionRedirect: c.EndSessionRedirect}
		switch c.Type {
		case connector.TypeOIDC:
			wc.Redirector, err = oidc.New(c, nil)
		case connector.TypeGitHub:
			wc.Redirector, err = github.New(c, nil)
		case connector.TypeLDAP:
			var d *ldap.Connector
			if d, err = newDirectory(c, true); err == nil {
				wc.Password = d
				closers = append(closers, d.Close)
			}
		default:
			continue
		}
		if err != nil {
			return nil, closers, fmt.Errorf("connector %s: %w", c.ID, err)
		}
		out = append(out, wc)
	}
	return out, closers, nil
}

// newDirectory builds the LDAP connector of c. With readSecret false the
// bind password file is not read (config check validates what it can
// without the secret: a placeholder stands in for it).
func newDirectory(c connector.Config, readSecret bool) (*ldap.Connector, error) {
	if c.LDAP == nil {
		return nil, errors.New("type ldap needs its ldap settings")
	}
	l := c.LDAP
	pw := l.BindPassword
	if l.BindPasswordFile != "" {
		pw = "(read from bind_password_file)"
		if readSecret {
			var err error
			if pw, err = c.BindSecret(); err != nil {
				return nil, err
			}
		}
	}
	return ldap.New(ldap.Config{
		ConnectorID:        c.ID,
		URL:                l.URL,
		StartTLS:           l.StartTLS,
		CAFile:             l.CAFile,
		InsecureSkipVerify: l.InsecureSkipVerify,
		InsecureNoTLS:      l.InsecureNoTLS,
		BindDN:             l.BindDN,
		BindPassword:       pw,
		UserSearchBase:     l.UserSearchBase,
		UserFilter:         l.UserFilter,
		UsernameAttr:       l.UsernameAttr,
		EmailAttr:          l.EmailAttr,
		NameAttr:           l.NameAttr,
		IDAttr:             l.IDAttr,
		EmailVerified:      l.EmailVerified,
		GroupSearchBase:    l.GroupSearchBase,
		GroupFilter:        l.GroupFilter,
		GroupNameAttr:      l.GroupNameAttr,
		Timeout:            c.CallTimeout(),
		PoolSize:           l.PoolSize,
	})
}

// checkDirectories reports the problems of the LDAP connectors' settings
// that only package ldap knows (URL, TLS, DNs, filters, the CA file),
// without reading secrets or contacting a directory.
func checkDirectories(list []connector.Config) error {
	var errs []error
	for _, c := range list {
		if c.Type != connector.TypeLDAP || c.LDAP == nil {
			continue // connector.Validate reports a missing block
		}
		d, err := newDirectory(c, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %s: %w", c.ID, err))
			continue
		}
		_ = d.Close()
	}
	return errors.Join(errs...)
}
