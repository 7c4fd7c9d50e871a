package slapdtest

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
)

// The directory's fixed names.
const (
	// Suffix is the naming context of the test directory.
	Suffix = "dc=example,dc=test"
	// RootDN and RootPassword are slapd's rootdn, which bypasses access
	// control.
	RootDN       = "cn=admin," + Suffix
	RootPassword = "root-secret"
	// ServiceDN and ServicePassword are an ordinary entry that may read
	// the directory: the service account a connector searches with.
	ServiceDN       = "cn=reader," + Suffix
	ServicePassword = "reader-secret"
	// PeopleBase and GroupsBase hold the users and the groups.
	PeopleBase = "ou=people," + Suffix
	GroupsBase = "ou=groups," + Suffix
)

// User is an inetOrgPerson under PeopleBase, named cn=CN.
type User struct {
	CN       string // the RDN value and the display name
	UID      string // the login name
	Mail     string // optional
	Password string // stored as {SSHA}; empty for no userPassword
}

// Group is a groupOfNames under GroupsBase whose members are users,
// given by CN. groupOfNames needs at least one member.
type Group struct {
	CN      string
	Members []string
}

// DefaultUsers are alice (groups devs and admins), bob (devs) and carol
// (no group); each password is the uid followed by "-password".
func DefaultUsers() []User {
	return []User{
		{CN: "Alice Liddell", UID: "alice", Mail: "alice@example.test", Password: "alice-password"},
		{CN: "Bob Builder", UID: "bob", Mail: "bob@example.test", Password: "bob-password"},
		{CN: "Carol Danvers", UID: "carol", Password: "carol-password"},
	}
}

// DefaultGroups go with DefaultUsers.
func DefaultGroups() []Group {
	return []Group{
		{CN: "devs", Members: []string{"Alice Liddell", "Bob Builder"}},
		{CN: "admins", Members: []string{"Alice Liddell"}},
	}
}

// UserDN is the DN of the user named cn.
func UserDN(cn string) string { return "cn=" + escapeRDN(cn) + "," + PeopleBase }

// GroupDN is the DN of the group named cn.
func GroupDN(cn string) string { return "cn=" + escapeRDN(cn) + "," + GroupsBase }

// escapeRDN escapes an attribute value for a DN (RFC 4514 §2.4).
func escapeRDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r),
			i == 0 && (r == ' ' || r == '#'),
			i == len(v)-1 && r == ' ':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ldif renders the whole directory for slapadd.
func ldif(users []User, groups []Group) (string, error) {
	var b strings.Builder
	entry := func(dn string, lines ...string) {
		fmt.Fprintf(&b, "dn: %s\n", dn)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
		b.WriteString("\n")
	}
	entry(Suffix, "objectClass: dcObject", "objectClass: organization", "dc: example", "o: monban test")
	hash, err := ssha(ServicePassword)
	if err != nil {
		return "", err
	}
	entry(ServiceDN, "objectClass: organizationalRole", "objectClass: simpleSecurityObject", "cn: reader", "userPassword: "+hash)
	entry(PeopleBase, "objectClass: organizationalUnit", "ou: people")
	entry(GroupsBase, "objectClass: organizationalUnit", "ou: groups")
	for _, u := range users {
		sn := u.CN
		if i := strings.LastIndexByte(sn, ' '); i >= 0 {
			sn = sn[i+1:]
		}
		lines := []string{"objectClass: inetOrgPerson", attr("cn", u.CN), attr("sn", sn), attr("uid", u.UID)}
		if u.Mail != "" {
			lines = append(lines, attr("mail", u.Mail))
		}
		if u.Password != "" {
			hash, err := ssha(u.Password)
			if err != nil {
				return "", err
			}
			lines = append(lines, "userPassword: "+hash)
		}
		entry(UserDN(u.CN), lines...)
	}
	for _, g := range groups {
		lines := []string{"objectClass: groupOfNames", attr("cn", g.CN)}
		for _, m := range g.Members {
			lines = append(lines, attr("member", UserDN(m)))
		}
		entry(GroupDN(g.CN), lines...)
	}
	return b.String(), nil
}

// attr is one LDIF line; values that are not safe strings (RFC 2849)
// are base64 encoded.
func attr(name, value string) string {
	safe := value == "" || !strings.ContainsAny(value[:1], " :<")
	for _, r := range value {
		if r < 0x20 || r > 0x7e {
			safe = false
		}
	}
	if safe && !strings.HasSuffix(value, " ") {
		return name + ": " + value
	}
	return name + ":: " + base64.StdEncoding.EncodeToString([]byte(value))
}

// ssha hashes a password the way slappasswd -h {SSHA} does: SHA-1 of
// the password and a random salt, followed by the salt, in base64.
func ssha(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...)), nil
}
