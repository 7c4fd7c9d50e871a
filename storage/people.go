package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"
)

// Address is the `address` claim (OIDC Core §5.1.1); empty fields are
// left out of it.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// IsZero reports whether no field of the address is set.
func (a Address) IsZero() bool { return a == Address{} }

// AttributeValue is a custom attribute of a user: one string, or a list of
// strings. In JSON it is a string or an array of strings.
type AttributeValue struct {
	List   bool     // an array, even of one or no element
	Values []string // exactly one value when List is false
}

// StringAttribute returns a single-string attribute value.
func StringAttribute(s string) AttributeValue { return AttributeValue{Values: []string{s}} }

// ListAttribute returns a list attribute value.
func ListAttribute(v ...string) AttributeValue {
	return AttributeValue{List: true, Values: append([]string{}, v...)}
}

// Claim returns the value as a claim carries it: a string or a []string.
func (v AttributeValue) Claim() any {
	if v.List {
		return slices.Clone(v.Values)
	}
	if len(v.Values) == 0 {
		return ""
	}
	return v.Values[0]
}

// MarshalJSON implements json.Marshaler: a string or an array.
func (v AttributeValue) MarshalJSON() ([]byte, error) { return json.Marshal(v.Claim()) }

// UnmarshalJSON implements json.Unmarshaler: a string or an array of
// strings; anything else is an error.
func (v *AttributeValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return errors.New("an attribute must be a string or an array of strings")
		}
		*v = ListAttribute(list...)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("an attribute must be a string or an array of strings")
	}
	*v = StringAttribute(s)
	return nil
}

// CloneAttributes deep-copies m; nil and empty give nil.
func CloneAttributes(m map[string]AttributeValue) map[string]AttributeValue {
	if len(m) == 0 {
		return nil
	}
	o := maps.Clone(m)
	for k, v := range o {
		v.Values = slices.Clone(v.Values)
		o[k] = v
	}
	return o
}

// ClaimMapping releases one custom user attribute to a client as a claim:
// when the token's scopes include Scope, the ID token and UserInfo carry
// the user's attribute Attribute under the name Claim (omitted when the
// user has no such attribute). Claim must not be a registered or
// standard claim name (clientpolicy refuses those).
type ClaimMapping struct {
	Attribute string `json:"attribute"`
	Claim     string `json:"claim"`
	Scope     string `json:"scope"`
}

// Group is a named set of users. The `groups` claim carries the names of
// a user's groups; a client's AllowedGroups names groups too.
type Group struct {
	ID        string
	Name      string // unique, case-sensitive
	CreatedAt time.Time
	UpdatedAt time.Time
	// Description says what the group is for (configuration as code and
	// the operator; never a claim).
	Description string
	// Managed marks a group that configuration as code (monban apply)
	// owns: only such groups are deleted by apply --prune.
	Managed bool
}

// Groups stores groups and their members. Every change of a membership,
// a rename and a deletion increases the liveness version of each member
// concerned (AccessTokens.LivenessVersion): the groups read with a
// token's user change.
type Groups interface {
	// CreateGroup inserts g. ErrAlreadyExists if the ID or name is taken.
	CreateGroup(ctx context.Context, g *Group) error
	// GetGroup returns the group with the ID, or ErrNotFound.
	GetGroup(ctx context.Context, id string) (*Group, error)
	// GetGroupByName returns the group with the exact name, or ErrNotFound.
	GetGroupByName(ctx context.Context, name string) (*Group, error)
	// RenameGroup renames the group and, in the same transaction, every
	// client's AllowedGroups entry that named it. ErrNotFound if absent;
	// ErrAlreadyExists if the new name is taken.
	RenameGroup(ctx context.Context, id, newName string, at time.Time) (*Group, error)
	// DeleteGroup removes the group and its memberships. ErrConflict (and
	// nothing changes) while a client's AllowedGroups names it, so a rule
	// never silently starts to mean another group; ErrNotFound if absent.
	DeleteGroup(ctx context.Context, id string) error
	// AddGroupMember makes the user a member of the group. Idempotent.
	// ErrNotFound if the group or the user is absent.
	AddGroupMember(ctx context.Context, groupID, userID string) error
	// RemoveGroupMember ends the membership. ErrNotFound if the user is
	// not a member of the group.
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
	// ListGroupMembers returns up to limit members of the group ordered
	// by username (bytes), after the username after ("" from the start).
	ListGroupMembers(ctx context.Context, groupID, after string, limit int) ([]*User, error)
	// UpdateGroup changes the group with the ID through fn under a lock on
	// that group, as UpdateClient does for clients: fn gets a copy of the
	// group as stored now and its Description, Managed and UpdatedAt are
	// written unless fn returns an error (returned unchanged); ID, Name
	// (RenameGroup renames) and CreatedAt stay as stored. fn must be quick
	// and must not use the store. ErrNotFound if absent.
	UpdateGroup(ctx context.Context, id string, fn func(*Group) error) (*Group, error)
}
