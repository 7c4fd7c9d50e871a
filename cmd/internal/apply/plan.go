package apply

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/monban-idp/monban/storage"
)

// Action is what a plan does with one object.
type Action string

// The actions of a plan.
const (
	Create    Action = "create"
	Update    Action = "update"
	Delete    Action = "delete"
	Unchanged Action = "unchanged"
)

// Kinds of objects.
const (
	KindClient = "client"
	KindGroup  = "group"
)

// Change is one object's line of a plan. Fields lists, for an update,
// the keys that change; a secret is never shown, only "secret (changed)",
// "secret (generated)" or "secret (removed)".
type Change struct {
	Action Action   `json:"action"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name"` // client ID or group name
	Fields []string `json:"fields,omitempty"`

	version   string
	client    ClientWrite
	generated bool // client.Secret was made by the plan: shown once after the write
	group     GroupWrite
}

// Plan is what Execute will do, in order: groups are created and changed
// before the clients whose rules may name them, and deleted after.
type Plan struct {
	Changes []Change `json:"changes"`
	// Kept are managed objects absent from the file, kept without Prune.
	Kept []string `json:"kept,omitempty"`
	// Unmanaged are objects apply does not manage and left alone.
	Unmanaged []string `json:"unmanaged,omitempty"`
	Notes     []string `json:"notes,omitempty"`
}

// Count returns how many changes of the action the plan holds.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Changes) == p.Count(Unchanged) }

// Options steer the planner.
type Options struct {
	// Prune deletes managed objects that the file no longer declares.
	Prune bool
	// Adopt takes over objects that exist, unmanaged, and that the file
	// declares; without it they are refused.
	Adopt bool
	// NewSecret makes a client secret; nil: storage.NewToken.
	NewSecret func() string
}

// State is what the target holds now.
type State struct {
	Clients []ClientState
	Groups  []GroupState
	// MissingUsers are the usernames named by the file that exist nowhere.
	MissingUsers []string
}

// Load reads the target's state for the desired objects.
func Load(ctx context.Context, t Target, d *Desired) (*State, error) {
	cls, err := t.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := t.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, g := range d.Groups {
		if g.Members != nil {
			names = append(names, *g.Members...)
		}
	}
	missing, err := t.MissingUsers(ctx, sortedSet(names))
	if err != nil {
		return nil, err
	}
	return &State{Clients: cls, Groups: gs, MissingUsers: missing}, nil
}

// clientFields are the settings of a client the file manages, by the
// file's key and storage.Client's field.
var clientFields = []struct{ key, field string }{
	{"name", "Name"}, {"application_type", "ApplicationType"}, {"token_endpoint_auth_method", "AuthMethod"},
	{"redirect_uris", "RedirectURIs"}, {"post_logout_redirect_uris", "PostLogoutRedirectURIs"},
	{"grant_types", "GrantTypes"}, {"scopes", "Scopes"}, {"require_consent", "RequireConsent"},
	{"require_mfa", "RequireMFA"}, {"require_pushed_authorization_requests", "RequirePAR"},
	{"backchannel_logout_uri", "BackchannelLogoutURI"},
	{"backchannel_logout_session_required", "BackchannelLogoutSessionRequired"},
	{"access_token_ttl", "AccessTokenTTL"}, {"refresh_token_ttl", "RefreshTokenTTL"},
	{"id_token_signed_response_alg", "IDTokenSigningAlg"}, {"jwks", "JWKS"}, {"jwks_uri", "JWKSURI"},
	{"allowed_groups", "AllowedGroups"}, {"claim_mappings", "ClaimMappings"},
	{"dpop_bound_access_tokens", "DPoPBoundAccessTokens"}, {"token_exchange_audiences", "TokenExchangeAudiences"},
	{"refresh_id_token", "OmitRefreshIDToken"},
}

// mergeClient copies the managed settings of want into have and returns
// the keys that changed (an empty list and a missing one are the same).
func mergeClient(have, want *storage.Client) []string {
	var changed []string
	h, w := reflect.ValueOf(have).Elem(), reflect.ValueOf(want).Elem()
	for _, f := range clientFields {
		hv, wv := h.FieldByName(f.field), w.FieldByName(f.field)
		same := reflect.DeepEqual(hv.Interface(), wv.Interface()) ||
			(hv.Kind() == reflect.Slice && hv.Len() == 0 && wv.Len() == 0)
		if !same {
			changed = append(changed, f.key)
			hv.Set(wv)
		}
	}
	return changed
}

// MakePlan compares the desired objects with the state. It refuses, as
// a whole and before anything is written, a plan that would adopt an
// unmanaged object without Adopt, name a group or user that will not
// exist, or delete a group a remaining client names.
func MakePlan(st *State, d *Desired, o Options) (*Plan, error) {
	newSecret := o.NewSecret
	if newSecret == nil {
		newSecret = storage.NewToken
	}
	p := &Plan{Notes: d.Notes}
	var errs []error
	adopt := func(kind, name, where string) bool {
		if o.Adopt {
			return true
		}
		errs = append(errs, fmt.Errorf("%s: %s %q exists but is not managed by apply: "+
			"remove it from the file, or run apply with --adopt to take it over", where, kind, name))
		return false
	}

	groups := map[string]GroupState{}
	for _, g := range st.Groups {
		groups[g.Group.Name] = g
	}
	declaredGroup := map[string]bool{}
	var groupChanges, groupDeletes []Change
	for _, dg := range d.Groups {
		declaredGroup[dg.Group.Name] = true
		for _, u := range st.MissingUsers {
			if dg.Members != nil && slices.Contains(*dg.Members, u) {
				errs = append(errs, fmt.Errorf("%s: members: user %q does not exist", dg.Where, u))
			}
		}
		cur, ok := groups[dg.Group.Name]
		want := GroupWrite{Group: &storage.Group{Name: dg.Group.Name, Description: dg.Group.Description, Managed: true}, Members: dg.Members}
		if !ok {
			groupChanges = append(groupChanges, Change{Action: Create, Kind: KindGroup, Name: dg.Group.Name, group: want})
			continue
		}
		var fields []string
		if !cur.Group.Managed {
			if !adopt(KindGroup, dg.Group.Name, dg.Where) {
				continue
			}
			fields = append(fields, "managed (adopted)")
		}
		if cur.Group.Description != dg.Group.Description {
			fields = append(fields, "description")
		}
		if dg.Members != nil && !slices.Equal(cur.Members, *dg.Members) {
			fields = append(fields, "members")
		}
		c := Change{Action: Unchanged, Kind: KindGroup, Name: dg.Group.Name, version: cur.Version, group: want}
		if len(fields) > 0 {
			c.Action, c.Fields = Update, fields
		}
		groupChanges = append(groupChanges, c)
	}

	clients := map[string]ClientState{}
	for _, c := range st.Clients {
		clients[c.Client.ID] = c
	}
	declaredClient := map[string]bool{}
	var clientChanges, clientDeletes []Change
	named := map[string][]string{} // group → the clients whose rule names it after the plan
	for _, dc := range d.Clients {
		id := dc.Client.ID
		declaredClient[id] = true
		for _, g := range dc.Client.AllowedGroups {
			named[g] = append(named[g], id)
			if _, ok := groups[g]; !ok && !declaredGroup[g] {
				errs = append(errs, fmt.Errorf("%s: allowed_groups: group %q does not exist and is not declared in the file", dc.Where, g))
			}
		}
		cur, ok := clients[id]
		if !ok {
			w := ClientWrite{Client: dc.Client.Clone(), Secret: dc.Secret}
			w.Client.Managed = true
			c := Change{Action: Create, Kind: KindClient, Name: id, client: w}
			if usesSecret(w.Client.AuthMethod) && w.Secret == "" {
				c.client.Secret, c.generated = newSecret(), true
			}
			clientChanges = append(clientChanges, c)
			continue
		}
		var fields []string
		if !cur.Client.Managed {
			if !adopt(KindClient, id, dc.Where) {
				continue
			}
			fields = append(fields, "managed (adopted)")
		}
		merged := cur.Client.Clone()
		merged.Managed = true
		fields = append(fields, mergeClient(merged, dc.Client)...)
		c := Change{Kind: KindClient, Name: id, version: cur.Version, client: ClientWrite{Client: merged}}
		switch {
		case !usesSecret(merged.AuthMethod):
			if cur.Client.SecretHash != "" {
				fields = append(fields, "secret (removed)")
			}
		case dc.Secret != "":
			if cur.SecretUnknown || !sameHash(storage.HashToken(dc.Secret), cur.Client.SecretHash) {
				c.client.Secret = dc.Secret
				fields = append(fields, "secret (changed)")
			}
		case cur.Client.SecretHash == "" && !cur.SecretUnknown: // confidential now: it needs a secret
			c.client.Secret, c.generated = newSecret(), true
			fields = append(fields, "secret (generated)")
		}
		c.Action, c.Fields = Unchanged, fields
		if len(fields) > 0 {
			c.Action = Update
		}
		clientChanges = append(clientChanges, c)
	}
	for _, cur := range st.Clients {
		id := cur.Client.ID
		switch {
		case declaredClient[id]:
		case !cur.Client.Managed:
			p.Unmanaged = append(p.Unmanaged, fmt.Sprintf("client %q", id))
			for _, g := range cur.Client.AllowedGroups {
				named[g] = append(named[g], id)
			}
		case o.Prune:
			clientDeletes = append(clientDeletes, Change{Action: Delete, Kind: KindClient, Name: id, version: cur.Version})
		default:
			p.Kept = append(p.Kept, fmt.Sprintf("client %q", id))
			for _, g := range cur.Client.AllowedGroups {
				named[g] = append(named[g], id)
			}
		}
	}
	for _, cur := range st.Groups {
		name := cur.Group.Name
		switch {
		case declaredGroup[name]:
		case !cur.Group.Managed:
			p.Unmanaged = append(p.Unmanaged, fmt.Sprintf("group %q", name))
		case o.Prune:
			if by := named[name]; len(by) > 0 {
				errs = append(errs, fmt.Errorf("group %q: cannot delete it (--prune): the allowed_groups of client %q name it", name, by[0]))
				continue
			}
			groupDeletes = append(groupDeletes, Change{Action: Delete, Kind: KindGroup, Name: name, version: cur.Version})
		default:
			p.Kept = append(p.Kept, fmt.Sprintf("group %q", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	p.Changes = append(p.Changes, groupChanges...)
	p.Changes = append(p.Changes, clientChanges...)
	p.Changes = append(p.Changes, clientDeletes...)
	p.Changes = append(p.Changes, groupDeletes...)
	return p, nil
}

func sameHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// sortedSet returns the distinct values of s, sorted.
func sortedSet(s []string) []string {
	o := slices.Clone(s)
	slices.Sort(o)
	return slices.Compact(o)
}
