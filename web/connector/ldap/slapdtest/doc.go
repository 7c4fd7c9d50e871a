// Package slapdtest runs a real OpenLDAP server for tests: the slapd of
// the Debian package slapd (/usr/sbin/slapd, or the binary EnvBinary
// names), started by the test itself as the current user in a temporary
// directory, on free loopback ports, with a generated slapd.conf (mdb
// backend, suffix Suffix), a directory of users and groups loaded with
// slapadd before start, and optionally LDAPS and StartTLS with a
// generated CA and server certificate. It is stopped when the test ends.
//
// .ci/run installs the package (apt-get install slapd ldap-utils). When
// slapd is missing a test fails if the environment variable CI is set,
// and is skipped with a message saying how to install it otherwise.
package slapdtest
