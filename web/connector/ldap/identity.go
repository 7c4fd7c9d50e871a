package ldap

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/monban-idp/monban/web/connector"
)

// identity maps the user's entry to an Identity.
func (c *Connector) identity(e *ldap.Entry, username string) (connector.Identity, error) {
	subject, err := c.subject(e)
	if err != nil {
		return connector.Identity{}, err
	}
	id := connector.Identity{
		ConnectorID: c.cfg.ConnectorID,
		Subject:     subject,
		Username:    e.GetEqualFoldAttributeValue(c.cfg.UsernameAttr),
		Email:       e.GetEqualFoldAttributeValue(c.cfg.EmailAttr),
		Name:        e.GetEqualFoldAttributeValue(c.cfg.NameAttr),
		// The directory checked a password (RFC 8176 §2).
		AMR: []string{"pwd"},
	}
	if id.Username == "" {
		id.Username = username
	}
	id.EmailVerified = c.cfg.EmailVerified && id.Email != ""
	return id, nil
}

// subject is the entry's stable id: IDAttr's value (objectGUID in its
// string form), or the DN when IDAttr is not configured. An entry without
// the configured attribute is an error rather than a silent fallback to
// the DN, which would give the same person a second subject.
func (c *Connector) subject(e *ldap.Entry) (string, error) {
	if c.cfg.IDAttr == "" {
		return e.DN, nil
	}
	raw := e.GetEqualFoldRawAttributeValue(c.cfg.IDAttr)
	if len(raw) == 0 {
		return "", fmt.Errorf("%w: ldap: the user's entry has no %s attribute (id_attr)", connector.ErrInvalidResponse, c.cfg.IDAttr)
	}
	if strings.EqualFold(c.cfg.IDAttr, "objectGUID") {
		if len(raw) != 16 {
			return "", fmt.Errorf("%w: ldap: objectGUID is %d bytes, not 16", connector.ErrInvalidResponse, len(raw))
		}
		return guidString(raw), nil
	}
	if utf8.Valid(raw) {
		return string(raw), nil
	}
	return hex.EncodeToString(raw), nil
}

// guidString formats Active Directory's binary objectGUID the way
// Windows shows it: the first three fields are little-endian (a
// Microsoft GUID struct), the last two bytes as they come.
func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}
