package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/monban-idp/monban/web/connector"
)

// Connector checks passwords against an LDAP directory. It is safe for
// concurrent use; Close releases its connections.
type Connector struct {
	cfg     Config
	ep      endpoint
	tls     *tls.Config
	service *pool // bound as the service account; searches only
	binds   *pool // binds as the people signing in; nothing else
}

var _ connector.PasswordChecker = (*Connector)(nil)

// Limits on what CheckPassword sends to the directory.
const (
	maxUsernameBytes = 256
	maxPasswordBytes = 1024
)

// New validates cfg (reporting every problem at once), applies the
// defaults and returns a connector. It does not contact the directory:
// connections are made on first use, so a directory that is down at
// start-up does not stop monban.
func New(cfg Config) (*Connector, error) {
	cfg = cfg.withDefaults()
	ep, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("ldap connector %q: %w", cfg.ConnectorID, err)
	}
	tlsConf, err := cfg.tlsConfig(ep)
	if err != nil {
		return nil, fmt.Errorf("ldap connector %q: %w", cfg.ConnectorID, err)
	}
	c := &Connector{cfg: cfg, ep: ep, tls: tlsConf}
	c.service = newPool(cfg.PoolSize, c.dialService, c.probe)
	c.binds = newPool(cfg.PoolSize, c.dial, c.probe)
	return c, nil
}

// Close closes the idle connections; connections in use are closed when
// their operation ends. CheckPassword fails after Close.
func (c *Connector) Close() error {
	c.service.close()
	c.binds.close()
	return nil
}

// CheckPassword finds username's entry, binds as it with password and
// returns its identity. Every failure wraps a connector error:
// ErrInvalidCredentials for an empty or over-long password or username,
// no entry, several entries, or a refused bind; ErrUpstreamUnavailable
// when the directory cannot be reached, answers with an error or does
// not answer within the configured timeout; ErrInvalidResponse when the
// entry lacks the configured id attribute.
func (c *Connector) CheckPassword(ctx context.Context, username, password string) (connector.Identity, error) {
	// A simple bind with an empty password is an unauthenticated bind
	// (RFC 4513 §5.1.2), which many servers answer with success: refuse
	// it before anything reaches the directory.
	switch {
	case password == "":
		return connector.Identity{}, fmt.Errorf("%w: ldap: empty password", connector.ErrInvalidCredentials)
	case username == "":
		return connector.Identity{}, fmt.Errorf("%w: ldap: empty username", connector.ErrInvalidCredentials)
	case len(username) > maxUsernameBytes || len(password) > maxPasswordBytes:
		return connector.Identity{}, fmt.Errorf("%w: ldap: username or password too long", connector.ErrInvalidCredentials)
	case !utf8.ValidString(username):
		return connector.Identity{}, fmt.Errorf("%w: ldap: username is not UTF-8", connector.ErrInvalidCredentials)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	entry, err := c.findUser(ctx, username)
	if err != nil {
		return connector.Identity{}, err
	}
	if err := c.bind(ctx, entry.DN, password); err != nil {
		return connector.Identity{}, err
	}
	id, err := c.identity(entry, username)
	if err != nil {
		return connector.Identity{}, err
	}
	if c.cfg.GroupSearchBase != "" {
		if id.Groups, err = c.groups(ctx, entry.DN); err != nil {
			return connector.Identity{}, err
		}
	}
	return id, nil
}

// dial opens a connection that has not bound (anonymous).
func (c *Connector) dial(ctx context.Context) (*conn, error) {
	return dial(ctx, c.ep, c.tls, c.cfg.StartTLS, c.cfg.Timeout)
}

// dialService opens a connection bound as the service account.
func (c *Connector) dialService(ctx context.Context) (*conn, error) {
	cn, err := c.dial(ctx)
	if err != nil || c.cfg.BindDN == "" {
		return cn, err
	}
	if err := cn.do(ctx, func() error { return cn.l.Bind(c.cfg.BindDN, c.cfg.BindPassword) }); err != nil {
		cn.close()
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			// The directory is up but monban's configuration is wrong:
			// nobody can sign in until an operator fixes it.
			return nil, fmt.Errorf("%w: ldap: the directory refused the service account %s (check bind_dn and its password): %w",
				connector.ErrUpstreamUnavailable, c.cfg.BindDN, err)
		}
		return nil, unavailable(ctx, "bind as the service account", err)
	}
	return cn, nil
}

// probe checks that an idle connection still answers: a base search of
// the root DSE (RFC 4512 §5.1) for no attributes.
func (c *Connector) probe(ctx context.Context, cn *conn) error {
	req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil)
	return cn.do(ctx, func() error { _, err := cn.l.Search(req); return err })
}

// userFilter is the search filter for username: every %s of UserFilter
// replaced by the username escaped as an assertion value (RFC 4515 §3),
// so *, (, ), \ and NUL match themselves and cannot change the filter.
func (c *Connector) userFilter(username string) string {
	return fillFilter(c.cfg.UserFilter, ldap.EscapeFilter(username))
}

// searchUsers returns at most two entries matching username; more than
// one is a lookup that must fail.
func (c *Connector) searchUsers(ctx context.Context, username string) ([]*ldap.Entry, error) {
	attrs := []string{c.cfg.UsernameAttr, c.cfg.EmailAttr, c.cfg.NameAttr}
	if c.cfg.IDAttr != "" {
		attrs = append(attrs, c.cfg.IDAttr)
	}
	slices.Sort(attrs)
	req := ldap.NewSearchRequest(c.cfg.UserSearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, timeLimit(c.cfg.Timeout), false, c.userFilter(username), slices.Compact(attrs), nil)
	var entries []*ldap.Entry
	err := c.service.with(ctx, func(cn *conn) error {
		return cn.do(ctx, func() error {
			res, err := cn.l.Search(req)
			if res != nil {
				entries = res.Entries
			}
			return err
		})
	})
	if err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return entries, nil // the entries so far tell that there are several
	}
	if err != nil {
		return nil, unavailable(ctx, "search for the user", err)
	}
	return entries, nil
}

// findUser returns the one entry of username.
func (c *Connector) findUser(ctx context.Context, username string) (*ldap.Entry, error) {
	entries, err := c.searchUsers(ctx, username)
	switch {
	case err != nil:
		return nil, err
	case len(entries) == 0:
		return nil, fmt.Errorf("%w: ldap: no entry matches the username", connector.ErrInvalidCredentials)
	case len(entries) > 1:
		return nil, fmt.Errorf("%w: ldap: several entries match the username (user_filter is ambiguous)", connector.ErrInvalidCredentials)
	case entries[0].DN == "":
		return nil, fmt.Errorf("%w: ldap: the user's entry has no DN", connector.ErrInvalidResponse)
	}
	return entries[0], nil
}

// bind checks password with a simple bind as dn on a bind-only
// connection.
func (c *Connector) bind(ctx context.Context, dn, password string) error {
	err := c.binds.with(ctx, func(cn *conn) error {
		return cn.do(ctx, func() error { return cn.l.Bind(dn, password) })
	})
	var le *ldap.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le) && refusedBind(le.ResultCode):
		return fmt.Errorf("%w: ldap: bind refused: %w", connector.ErrInvalidCredentials, err)
	default:
		return unavailable(ctx, "bind as the user", err)
	}
}

// refusedBind reports whether a bind's result code means this person may
// not sign in, as opposed to a directory that is not working:
// invalidCredentials (Active Directory adds the reason, such as a
// disabled or locked account, to the message), or a server that will not
// let this entry authenticate (RFC 4511 §4.1.9, Appendix A.2).
func refusedBind(code uint16) bool {
	switch code {
	case ldap.LDAPResultInvalidCredentials, ldap.LDAPResultInappropriateAuthentication,
		ldap.LDAPResultInsufficientAccessRights, ldap.LDAPResultUnwillingToPerform,
		ldap.LDAPResultConstraintViolation, ldap.LDAPResultInvalidDNSyntax, ldap.LDAPResultNoSuchObject:
		return true
	}
	return false
}

// groups returns the names of the groups that list dn, sorted and
// without duplicates; empty, not nil, when there are none.
func (c *Connector) groups(ctx context.Context, dn string) ([]string, error) {
	req := ldap.NewSearchRequest(c.cfg.GroupSearchBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, timeLimit(c.cfg.Timeout), false, fillFilter(c.cfg.GroupFilter, ldap.EscapeFilter(dn)),
		[]string{c.cfg.GroupNameAttr}, nil)
	var entries []*ldap.Entry
	err := c.service.with(ctx, func(cn *conn) error {
		return cn.do(ctx, func() error {
			res, err := cn.l.Search(req)
			if err == nil {
				entries = res.Entries
			}
			return err
		})
	})
	if err != nil {
		return nil, unavailable(ctx, "search for the user's groups", err)
	}
	names := []string{}
	for _, e := range entries {
		for _, v := range e.GetEqualFoldAttributeValues(c.cfg.GroupNameAttr) {
			if v != "" {
				names = append(names, v)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// timeLimit is the server-side time limit of a search (RFC 4511 §4.5.1.5)
// in whole seconds, at least one.
func timeLimit(d time.Duration) int {
	return max(1, int(d.Seconds()+0.999))
}
