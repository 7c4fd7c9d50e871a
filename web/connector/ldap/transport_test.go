package ldap

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/web/connector"
	"github.com/monban-idp/monban/web/connector/ldap/slapdtest"
)

func TestTLS(t *testing.T) {
	s := startDirectory(t)
	wrongCA := slapdtest.OtherCAFile(t)
	tests := []struct {
		name   string
		url    string
		start  bool
		caFile string
		skip   bool
		err    error
		detail string // in the error's text
	}{
		{name: "StartTLS with the CA", url: s.URL(), start: true, caFile: s.CAFile()},
		{name: "LDAPS with the CA", url: s.LDAPSURL(), caFile: s.CAFile()},
		{name: "LDAPS as localhost with the CA", url: strings.Replace(s.LDAPSURL(), "127.0.0.1", "localhost", 1), caFile: s.CAFile()},
		{name: "LDAPS with verification explicitly off", url: s.LDAPSURL(), skip: true},
		{name: "LDAPS with a wrong CA", url: s.LDAPSURL(), caFile: wrongCA,
			err: connector.ErrUpstreamUnavailable, detail: "certificate signed by unknown authority"},
		{name: "StartTLS with a wrong CA", url: s.URL(), start: true, caFile: wrongCA,
			err: connector.ErrUpstreamUnavailable, detail: "certificate signed by unknown authority"},
		{name: "LDAPS with the system pool", url: s.LDAPSURL(),
			err: connector.ErrUpstreamUnavailable, detail: "certificate"},
		{name: "LDAPS to the plain port", url: strings.Replace(s.URL(), "ldap://", "ldaps://", 1), caFile: s.CAFile(),
			err: connector.ErrUpstreamUnavailable, detail: "TLS handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(s)
			cfg.URL, cfg.StartTLS, cfg.CAFile, cfg.InsecureSkipVerify = tt.url, tt.start, tt.caFile, tt.skip
			cfg.Timeout = 5 * time.Second
			c := newConnector(t, cfg)
			got, err := c.CheckPassword(t.Context(), "alice", "alice-password")
			if tt.err == nil {
				if err != nil || got.Username != "alice" {
					t.Fatalf("CheckPassword = %+v, %v", got, err)
				}
				cn, err := c.service.get(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				defer c.service.put(cn)
				if _, ok := cn.l.TLSConnectionState(); !ok {
					t.Error("pooled connection is not TLS")
				}
				return
			}
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("CheckPassword error = %v, want %v mentioning %q", err, tt.err, tt.detail)
			}
		})
	}
}

// TestUnavailable: a directory that is down, refuses connections or
// accepts them and never answers yields ErrUpstreamUnavailable once the
// (short) timeout passes, not a hang.
func TestUnavailable(t *testing.T) {
	silent := silentListener(t)
	closed := closedPort(t)
	otherCA := slapdtest.OtherCAFile(t)
	tests := []struct {
		name   string
		url    string
		start  bool
		detail string
	}{
		{name: "connection refused", url: "ldap://" + closed, detail: "connect to"},
		{name: "silent server, plain", url: "ldap://" + silent, detail: "no answer in time"},
		{name: "silent server, LDAPS handshake", url: "ldaps://" + silent, detail: "no answer in time"},
		{name: "silent server, StartTLS", url: "ldap://" + silent, start: true, detail: "no answer in time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{ConnectorID: "corp", URL: tt.url, StartTLS: tt.start, BindDN: slapdtest.ServiceDN,
				BindPassword: slapdtest.ServicePassword, UserSearchBase: slapdtest.PeopleBase, UserFilter: "(uid=%s)",
				Timeout: 200 * time.Millisecond}
			if strings.HasPrefix(tt.url, "ldaps") || tt.start {
				cfg.CAFile = otherCA
			}
			c := newConnector(t, cfg)
			_, err := c.CheckPassword(t.Context(), "alice", "alice-password")
			if !errors.Is(err, connector.ErrUpstreamUnavailable) || !strings.Contains(err.Error(), tt.detail) {
				t.Fatalf("CheckPassword error = %v, want ErrUpstreamUnavailable mentioning %q", err, tt.detail)
			}
		})
	}
}

// TestDirectoryRestarts: with connections in the pools, slapd stops
// (unavailable), then starts again (sign-in works again without
// restarting monban: the dead pooled connections are replaced).
func TestDirectoryRestarts(t *testing.T) {
	s := startDirectory(t)
	cfg := baseConfig(s)
	cfg.Timeout = 2 * time.Second
	c := newConnector(t, cfg)
	check := func(want error) {
		t.Helper()
		_, err := c.CheckPassword(t.Context(), "alice", "alice-password")
		if !errors.Is(err, want) {
			t.Fatalf("CheckPassword error = %v, want %v", err, want)
		}
	}
	check(nil)
	s.Stop()
	check(connector.ErrUpstreamUnavailable)
	s.Start()
	check(nil)
	// Connections the pools still hold may have died with the server
	// without the client noticing yet; a reused connection that fails on
	// the network is replaced once.
	s.Stop()
	s.Start()
	check(nil)
}
