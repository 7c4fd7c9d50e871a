package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/adminapi"
)

// fromAPIClient is the storage.Client the API's view stands for (no
// secret hashes: the API never shows them).
func fromAPIClient(v *adminapi.Client) *storage.Client {
	c := &storage.Client{ID: v.ID, Name: v.Name, AuthMethod: v.AuthMethod, ApplicationType: v.ApplicationType,
		RedirectURIs: v.RedirectURIs, PostLogoutRedirectURIs: v.PostLogoutRedirectURIs, GrantTypes: v.GrantTypes,
		Scopes: strings.Fields(v.Scope), RequireConsent: v.RequireConsent, RequireMFA: v.RequireMFA,
		IDTokenSigningAlg: v.IDTokenSigningAlg, AccessTokenTTL: time.Duration(v.AccessTokenTTL) * time.Second,
		IDTokenTTL: time.Duration(v.IDTokenTTL) * time.Second, RefreshTokenTTL: time.Duration(v.RefreshTokenTTL) * time.Second,
		BackchannelLogoutURI: v.BackchannelLogoutURI, BackchannelLogoutSessionRequired: v.BackchannelLogoutSessionRequired,
		Disabled: v.Disabled, AllowedGroups: v.AllowedGroups, ClaimMappings: v.ClaimMappings, JWKSURI: v.JWKSURI,
		RequirePAR: v.RequirePAR, DPoPBoundAccessTokens: v.DPoPBoundAccessTokens,
		TokenExchangeAudiences: v.TokenExchangeAudiences, Managed: v.Managed, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt,
		OmitRefreshIDToken: !v.RefreshIDToken}
	if len(v.JWKS) > 0 {
		c.JWKS = compactJSON(string(v.JWKS))
	}
	return c
}

// clientBody is the API's write body for the settings apply manages
// (the file's keys and the managed mark); secret, when not empty, goes
// as the write-only client_secret.
func clientBody(c *storage.Client, secret string, create bool) *adminapi.ClientWrite {
	list := func(s []string) *[]string {
		o := slices.Clone(s)
		if o == nil {
			o = []string{}
		}
		return &o
	}
	secs := func(d time.Duration) *int64 { n := int64(d / time.Second); return &n }
	scope := strings.Join(c.Scopes, " ")
	refreshIDToken := !c.OmitRefreshIDToken
	mappings := slices.Clone(c.ClaimMappings)
	if mappings == nil {
		mappings = []storage.ClaimMapping{}
	}
	w := &adminapi.ClientWrite{Name: &c.Name, AuthMethod: &c.AuthMethod, ApplicationType: &c.ApplicationType,
		RedirectURIs: list(c.RedirectURIs), PostLogoutRedirectURIs: list(c.PostLogoutRedirectURIs),
		GrantTypes: list(c.GrantTypes), Scope: &scope, RequireConsent: &c.RequireConsent, RequireMFA: &c.RequireMFA,
		IDTokenSigningAlg: &c.IDTokenSigningAlg, AccessTokenTTL: secs(c.AccessTokenTTL), RefreshTokenTTL: secs(c.RefreshTokenTTL),
		BackchannelLogoutURI: &c.BackchannelLogoutURI, BackchannelLogoutSessionRequired: &c.BackchannelLogoutSessionRequired,
		AllowedGroups: list(c.AllowedGroups), ClaimMappings: &mappings, JWKSURI: &c.JWKSURI, RequirePAR: &c.RequirePAR,
		DPoPBoundAccessTokens: &c.DPoPBoundAccessTokens, TokenExchangeAudiences: list(c.TokenExchangeAudiences),
		Managed: &c.Managed, RefreshIDToken: &refreshIDToken}
	w.JWKS = adminapi.OptionalJSON{Set: true, Value: json.RawMessage("null")}
	if c.JWKS != "" {
		w.JWKS.Value = json.RawMessage(c.JWKS)
	}
	if create {
		w.ID = &c.ID
	}
	if secret != "" {
		w.ClientSecret = &secret
	}
	return w
}

// clientState reads one client with its ETag.
func (t *APITarget) clientState(ctx context.Context, id string) (ClientState, error) {
	var v adminapi.Client
	tag, err := t.get(ctx, "/clients/"+url.PathEscape(id), &v)
	if err != nil {
		return ClientState{}, err
	}
	return ClientState{Client: fromAPIClient(&v), Version: tag, SecretUnknown: usesSecret(v.AuthMethod)}, nil
}

// ListClients implements Target: the list, then each client for its
// ETag (lists carry none).
func (t *APITarget) ListClients(ctx context.Context) ([]ClientState, error) {
	views, err := listAll[adminapi.Client](ctx, t, "/clients")
	if err != nil {
		return nil, err
	}
	out := make([]ClientState, 0, len(views))
	for _, v := range views {
		s, err := t.clientState(ctx, v.ID)
		if errors.Is(err, ErrGone) {
			continue // deleted since the list
		} else if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ClientState) int { return strings.Compare(a.Client.ID, b.Client.ID) })
	return out, nil
}

// GetClient implements Target.
func (t *APITarget) GetClient(ctx context.Context, id string) (ClientState, error) {
	return t.clientState(ctx, id)
}

// CreateClient implements Target.
func (t *APITarget) CreateClient(ctx context.Context, w ClientWrite) error {
	_, err := t.write(ctx, http.MethodPost, "/clients", clientBody(w.Client, w.Secret, true), "", http.StatusCreated, ErrExists)
	return err
}

// UpdateClient implements Target: PATCH with If-Match version.
func (t *APITarget) UpdateClient(ctx context.Context, version string, w ClientWrite) error {
	_, err := t.write(ctx, http.MethodPatch, "/clients/"+url.PathEscape(w.Client.ID), clientBody(w.Client, w.Secret, false),
		version, http.StatusOK, nil)
	return err
}

// DeleteClient implements Target: DELETE with If-Match version.
func (t *APITarget) DeleteClient(ctx context.Context, id, version string) error {
	_, err := t.write(ctx, http.MethodDelete, "/clients/"+url.PathEscape(id), nil, version, http.StatusNoContent, nil)
	return err
}

// A group's version is "ID ETAG MEMBERS": the API's ID (the routes take
// it), its ETag (name, description, managed) and a hash of the sorted
// usernames of its members, which the ETag does not cover; UpdateGroup
// and DeleteGroup read the members again and refuse (ErrStale) when they
// changed, then send the ETag in If-Match.
func groupVersion(id, tag string, members []string) string {
	return id + " " + tag + " " + hashJSON(members)
}

func parseGroupVersion(v string) (id, tag, members string, err error) {
	p := strings.SplitN(v, " ", 3)
	if len(p) != 3 {
		return "", "", "", fmt.Errorf("not a group version of the admin API target: %q", v)
	}
	return p[0], p[1], p[2], nil
}

// groupMembers returns a group's members, sorted by username.
func (t *APITarget) groupMembers(ctx context.Context, id string) ([]adminapi.Member, error) {
	ms, err := listAll[adminapi.Member](ctx, t, "/groups/"+url.PathEscape(id)+"/members")
	slices.SortFunc(ms, func(a, b adminapi.Member) int { return strings.Compare(a.Username, b.Username) })
	return ms, err
}

func usernames(ms []adminapi.Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Username)
	}
	return out
}

// groupState reads one group by ID with its ETag and members.
func (t *APITarget) groupState(ctx context.Context, id string) (GroupState, error) {
	var v adminapi.Group
	tag, err := t.get(ctx, "/groups/"+url.PathEscape(id), &v)
	if err != nil {
		return GroupState{}, err
	}
	ms, err := t.groupMembers(ctx, id)
	if err != nil {
		return GroupState{}, err
	}
	names := usernames(ms)
	g := &storage.Group{ID: v.ID, Name: v.Name, Description: v.Description, Managed: v.Managed, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	return GroupState{Group: g, Members: names, Version: groupVersion(v.ID, tag, names)}, nil
}

// ListGroups implements Target.
func (t *APITarget) ListGroups(ctx context.Context) ([]GroupState, error) {
	views, err := listAll[adminapi.Group](ctx, t, "/groups")
	if err != nil {
		return nil, err
	}
	out := make([]GroupState, 0, len(views))
	for _, v := range views {
		s, err := t.groupState(ctx, v.ID)
		if errors.Is(err, ErrGone) {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b GroupState) int { return strings.Compare(a.Group.Name, b.Group.Name) })
	return out, nil
}

// GetGroup implements Target.
func (t *APITarget) GetGroup(ctx context.Context, name string) (GroupState, error) {
	views, err := listAll[adminapi.Group](ctx, t, "/groups?name="+url.QueryEscape(name))
	if err != nil {
		return GroupState{}, err
	}
	if len(views) == 0 {
		return GroupState{}, ErrGone
	}
	return t.groupState(ctx, views[0].ID)
}

// CreateGroup implements Target: the group, then its members one call
// each (the API has no call for a whole membership).
func (t *APITarget) CreateGroup(ctx context.Context, w GroupWrite) error {
	body := adminapi.GroupWrite{Name: &w.Group.Name, Description: &w.Group.Description, Managed: &w.Group.Managed}
	a, err := t.write(ctx, http.MethodPost, "/groups", body, "", http.StatusCreated, ErrExists)
	if err != nil {
		return err
	}
	var g adminapi.Group
	if err := t.decodeAnswer(a, &g); err != nil {
		return err
	}
	if w.Members == nil {
		return nil
	}
	if err := t.setMembers(ctx, g.ID, nil, *w.Members); err != nil {
		return fmt.Errorf("the group was created, but not all its members were added: %w", err)
	}
	return nil
}

// UpdateGroup implements Target: the members are checked against the
// version, the group is written with If-Match, then the membership.
func (t *APITarget) UpdateGroup(ctx context.Context, version string, w GroupWrite) error {
	id, tag, mhash, err := parseGroupVersion(version)
	if err != nil {
		return err
	}
	have, err := t.checkMembers(ctx, id, mhash)
	if err != nil {
		return err
	}
	body := adminapi.GroupWrite{Description: &w.Group.Description, Managed: &w.Group.Managed}
	if _, err := t.write(ctx, http.MethodPatch, "/groups/"+url.PathEscape(id), body, tag, http.StatusOK, nil); err != nil {
		return err
	}
	if w.Members == nil {
		return nil
	}
	if err := t.setMembers(ctx, id, have, *w.Members); err != nil {
		return fmt.Errorf("the group was changed, but not all its members: %w", err)
	}
	return nil
}

// checkMembers reads a group's members and returns ErrStale when they
// are not those of the version's hash.
func (t *APITarget) checkMembers(ctx context.Context, id, mhash string) ([]adminapi.Member, error) {
	ms, err := t.groupMembers(ctx, id)
	if err != nil {
		return nil, err
	}
	if hashJSON(usernames(ms)) != mhash {
		return nil, ErrStale
	}
	return ms, nil
}

// setMembers adds the usernames of want that have lacks and removes the
// members of have that want lacks.
func (t *APITarget) setMembers(ctx context.Context, id string, have []adminapi.Member, want []string) error {
	path := "/groups/" + url.PathEscape(id) + "/members"
	for _, name := range want {
		if slices.ContainsFunc(have, func(m adminapi.Member) bool { return m.Username == name }) {
			continue
		}
		body := adminapi.MemberWrite{Username: name}
		if _, err := t.write(ctx, http.MethodPost, path, body, "", http.StatusOK, nil); err != nil {
			return fmt.Errorf("member %q: %w", name, err)
		}
	}
	for _, m := range have {
		if slices.Contains(want, m.Username) {
			continue
		}
		if _, err := t.write(ctx, http.MethodDelete, path+"/"+url.PathEscape(m.UserID), nil, "", http.StatusNoContent, nil); err != nil {
			return fmt.Errorf("member %q: %w", m.Username, err)
		}
	}
	return nil
}

// DeleteGroup implements Target: DELETE with If-Match, after the members
// are checked against the version.
func (t *APITarget) DeleteGroup(ctx context.Context, name, version string) error {
	id, tag, mhash, err := parseGroupVersion(version)
	if err != nil {
		return err
	}
	if _, err := t.checkMembers(ctx, id, mhash); err != nil {
		return err
	}
	_, err = t.write(ctx, http.MethodDelete, "/groups/"+url.PathEscape(id), nil, tag, http.StatusNoContent, ErrInUse)
	return err
}

// MissingUsers implements Target: a search per username, every page, for
// an exact match.
func (t *APITarget) MissingUsers(ctx context.Context, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		users, err := listAll[adminapi.User](ctx, t, "/users?q="+url.QueryEscape(n))
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(users, func(u adminapi.User) bool { return strings.EqualFold(u.Username, n) }) {
			missing = append(missing, n)
		}
	}
	return missing, nil
}

// compactJSON is s without insignificant white space when it is JSON.
func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}
