// Package ldap is the LDAP / Active Directory connector of issue #18: a
// connector.PasswordChecker that checks the sign-in form's username and
// password against a directory. It searches for the person's entry with
// a service account (RFC 4511 §4.5, the username escaped as an
// assertion value per RFC 4515 §3, never spliced in raw), binds as that
// entry with the password on a separate connection (a simple bind,
// RFC 4513 §5.1.3), maps the entry's attributes to a connector.Identity
// and, when configured, looks up the groups whose members include the
// entry.
//
// The transport is LDAPS (ldaps://, TLS from the first byte) or LDAP with
// StartTLS (RFC 4513 §3), verified against a CA file or the system pool.
// Plain ldap:// sends passwords in the clear and is refused unless the
// host is a loopback address or insecure_no_tls is set.
//
// Every network step (dial, TLS handshake, StartTLS, bind, search) runs
// under the caller's context bounded by the configured timeout, so a
// directory that is down, refuses connections or accepts and never
// answers yields connector.ErrUpstreamUnavailable within the timeout
// instead of a hang. The service account's searches share a small pool
// of connections (pool_size); idle ones are probed before reuse, and a
// stale one is replaced once. The users' binds use a second pool of the
// same size whose connections only ever bind.
//
// # Configuration
//
// A connector of type ldap in the configuration file's connectors list
// (mapped to Config by the application): the keys every connector has,
//
//	id                     the connector's id, never changed once people signed in
//	name                   its display name (the link page names it)
//	jit                    false; true creates a local user at a person's first sign-in
//	timeout                10s; bounds a whole sign-in check
//
// and, under ldap:, with their defaults:
//
//	url                    ldap://host:389 or ldaps://host:636 (required)
//	start_tls              false; true upgrades ldap:// with StartTLS
//	ca_file                PEM file of the CAs to trust; default the system pool
//	insecure_skip_verify   false; true skips certificate verification (tests only)
//	insecure_no_tls        false; true allows plain ldap:// to a non-loopback host
//	bind_dn                the service account's DN; empty searches anonymously
//	bind_password          the service account's password (prefer the file)
//	bind_password_file     file holding the service account's password
//	user_search_base       where to search for people (required)
//	user_filter            e.g. (&(objectClass=person)(uid=%s)); every %s is
//	                       replaced by the escaped username (required)
//	username_attr          uid (sAMAccountName for Active Directory)
//	id_attr                the stable id: entryUUID (OpenLDAP) or objectGUID (AD);
//	                       empty uses the entry's DN, which changes on a rename
//	email_attr             mail
//	email_verified         false; true when the directory is authoritative for e-mail
//	name_attr              cn (displayName for Active Directory)
//	group_search_base      where to search for groups; empty: no group lookup
//	group_filter           e.g. (&(objectClass=groupOfNames)(member=%s)); every %s
//	                       is replaced by the escaped DN of the person's entry
//	group_name_attr        cn
//	pool_size              4; connections per pool
//
// For Active Directory: url ldaps://dc.example.com, user_filter
// (&(objectClass=user)(sAMAccountName=%s)), username_attr sAMAccountName,
// id_attr objectGUID, name_attr displayName, group_filter
// (&(objectClass=group)(member=%s)).
package ldap
