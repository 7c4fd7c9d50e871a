package app

import (
	"fmt"

	"github.com/monban-idp/monban/web"
	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/github"
	"github.com/monban-idp/monban/web/connector/oidc"
)

// webConnectors builds the sign-in page's upstream identity providers
// from the configuration (issue 18). Nothing is contacted here: an OpenID
// provider is discovered at its first use, so one that is down does not
// keep monban from starting. Connectors of type ldap check the sign-in
// form's password instead (package web/connector/ldap) and have no
// button.
func webConnectors(list []connector.Config) ([]web.Connector, error) {
	var out []web.Connector
	for _, c := range list {
		var r connector.Redirector
		var err error
		switch c.Type {
		case connector.TypeOIDC:
			r, err = oidc.New(c, nil)
		case connector.TypeGitHub:
			r, err = github.New(c, nil)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", c.ID, err)
		}
		out = append(out, web.Connector{ID: c.ID, Names: c.Name, Redirector: r, JIT: c.JIT,
			EndSessionRedirect: c.EndSessionRedirect})
	}
	return out, nil
}
