package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// Redacted replaces secrets in audit snapshots.
const Redacted = "[redacted]"

// Clone returns a copy of c that shares no slice with it.
func (c *Client) Clone() *Client {
	o := *c
	o.RedirectURIs, o.PostLogoutRedirectURIs = slices.Clone(c.RedirectURIs), slices.Clone(c.PostLogoutRedirectURIs)
	o.GrantTypes, o.Scopes = slices.Clone(c.GrantTypes), slices.Clone(c.Scopes)
	o.AllowedGroups, o.ClaimMappings = slices.Clone(c.AllowedGroups), slices.Clone(c.ClaimMappings)
	o.TokenExchangeAudiences = slices.Clone(c.TokenExchangeAudiences)
	return &o
}

// ClientSnapshot is a client as the audit trail records it: its secret
// and registration-token hashes are replaced by whether there is one.
// nil gives nil.
func ClientSnapshot(c *Client) any {
	if c == nil {
		return nil
	}
	s := *c
	if s.SecretHash != "" {
		s.SecretHash = Redacted
	}
	if s.RegistrationTokenHash != "" {
		s.RegistrationTokenHash = Redacted
	}
	return s
}

// UserSnapshot is a user as the audit trail records it, without the
// password hash. nil gives nil.
func UserSnapshot(u *User) any {
	if u == nil {
		return nil
	}
	s := *u
	if s.PasswordHash != "" {
		s.PasswordHash = Redacted
	}
	return s
}

// SessionSnapshot is a session as the audit trail records it, without
// its token hash. nil gives nil.
func SessionSnapshot(s *Session) any {
	if s == nil {
		return nil
	}
	c := *s
	c.TokenHash = Redacted
	return c
}

// GroupSnapshot is a group as the audit trail records it. nil gives nil.
func GroupSnapshot(g *Group) any {
	if g == nil {
		return nil
	}
	return *g
}

// SnapshotJSON is the JSON of a snapshot for AuditEntry.Before and
// After; nil gives "".
func SnapshotJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%q", err.Error())
	}
	return string(b)
}

// Change applies an admin change and writes its audit entry in one
// transaction (Atomic.Atomically): both are stored or neither, also when
// the process dies in between (checklist R8). apply makes the change on
// the transaction's store (through an updater that reads the row under
// its lock, for a read-modify-write) and returns the before and after
// snapshots it saw, which fill e.Before and e.After, so the entry records
// what was really replaced. apply's error comes back unchanged. The
// console and the admin API both change objects through it.
func (r *AuditRecorder) Change(ctx context.Context, st Atomic, e AuditEntry, apply func(tx Store) (before, after any, err error)) error {
	return st.Atomically(ctx, func(tx Store) error {
		before, after, err := apply(tx)
		if err != nil {
			return err
		}
		e.Before, e.After = SnapshotJSON(before), SnapshotJSON(after)
		rec := AuditRecorder{Log: tx, Logger: r.Logger, Now: r.Now}
		return rec.RecordChange(ctx, e)
	})
}

// AuditCategoryFilter maps the audit list's category filter values (the
// console's and the admin API's `action` parameter) to AuditFilter.Actions:
// "" (everything), "signin", "consent", "token", "logout" and "admin"
// (every admin change). ok is false for any other value.
func AuditCategoryFilter(value string) (actions []string, ok bool) {
	switch value {
	case "":
		return nil, true
	case CategorySignIn, CategoryConsent, CategoryToken, CategoryLogout:
		return []string{value}, true
	case "admin":
		return AdminCategories(), true
	}
	return nil, false
}
