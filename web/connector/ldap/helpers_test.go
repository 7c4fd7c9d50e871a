package ldap

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/web/connector/ldap/slapdtest"
)

// starUser's uid is an injection attempt stored literally: searching for
// it must find exactly this entry and nothing else.
var starUser = slapdtest.User{CN: "Star User", UID: "*)(uid=*", Password: "star-password"}

// daveUser's DN needs escaping (a comma, parentheses): the group lookup
// must still find his group.
var daveUser = slapdtest.User{CN: "Dave (Ops), Jr", UID: "dave", Password: "dave-password"}

// startDirectory starts slapd with the default users and groups plus
// starUser and daveUser (in group ops), with LDAPS and StartTLS.
func startDirectory(t testing.TB) *slapdtest.Server {
	t.Helper()
	return slapdtest.Start(t, slapdtest.Options{
		TLS:    true,
		Users:  append(slapdtest.DefaultUsers(), starUser, daveUser),
		Groups: append(slapdtest.DefaultGroups(), slapdtest.Group{CN: "ops", Members: []string{daveUser.CN}}),
	})
}

// baseConfig is an OpenLDAP configuration for s over plain LDAP on
// loopback.
func baseConfig(s *slapdtest.Server) Config {
	return Config{
		ConnectorID:     "corp",
		URL:             s.URL(),
		BindDN:          slapdtest.ServiceDN,
		BindPassword:    slapdtest.ServicePassword,
		UserSearchBase:  slapdtest.PeopleBase,
		UserFilter:      "(&(objectClass=person)(uid=%s))",
		IDAttr:          "entryUUID",
		EmailVerified:   true,
		GroupSearchBase: slapdtest.GroupsBase,
		GroupFilter:     "(&(objectClass=groupOfNames)(member=%s))",
		Timeout:         10 * time.Second,
	}
}

// newConnector builds a connector from cfg and closes it when the test
// ends.
func newConnector(t testing.TB, cfg Config) *Connector {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// silentListener accepts TCP connections and never writes a byte: a
// directory that hangs.
func silentListener(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// closedPort is a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
