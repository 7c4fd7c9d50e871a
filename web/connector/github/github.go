// Package github is the connector to GitHub (or GitHub Enterprise): the
// OAuth 2.0 authorization code flow (RFC 6749 §4.1, with state and PKCE
// S256, RFC 7636) and the REST API for the person, their verified primary
// e-mail address and their organisations and teams, which become groups
// "org" and "org:team".
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/monban-idp/monban/web/connector"
)

// Default base URLs: github.com's web and API hosts.
const (
	DefaultBaseURL = "https://github.com"
	DefaultAPIURL  = "https://api.github.com"
)

// maxBody bounds every API answer read; maxPages the pages of a list.
const (
	maxBody  = 1 << 20
	maxPages = 10
)

// Connector is a connector.Redirector to GitHub.
type Connector struct {
	cfg    connector.Config
	secret string
	client *http.Client
	base   string
	api    string
}

var _ connector.Redirector = (*Connector)(nil)

// New returns the connector for cfg (of type github). client makes every
// call; nil: a client with cfg's timeout.
func New(cfg connector.Config, client *http.Client) (*Connector, error) {
	if cfg.Type != connector.TypeGitHub {
		return nil, fmt.Errorf("github: connector %s is of type %q", cfg.ID, cfg.Type)
	}
	secret, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = &http.Client{Timeout: cfg.CallTimeout()}
	}
	c := &Connector{cfg: cfg, secret: secret, client: client,
		base: strings.TrimRight(cfg.BaseURL, "/"), api: strings.TrimRight(cfg.APIURL, "/")}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.api == "" {
		c.api = DefaultAPIURL
	}
	return c, nil
}

func (c *Connector) oauth(redirectURI string) *oauth2.Config {
	scopes := c.cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"read:user", "user:email"}
		if len(c.cfg.Orgs) > 0 || c.cfg.TeamsGroups {
			scopes = append(scopes, "read:org")
		}
	}
	return &oauth2.Config{ClientID: c.cfg.ClientID, ClientSecret: c.secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: c.base + "/login/oauth/authorize", TokenURL: c.base + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams}}
}

// AuthCodeURL implements connector.Redirector. GitHub has no ID token,
// so the nonce is unused; state and PKCE protect the callback.
func (c *Connector) AuthCodeURL(redirectURI, state, _, codeVerifier string) string {
	return c.oauth(redirectURI).AuthCodeURL(state, oauth2.S256ChallengeOption(codeVerifier))
}

// HandleCallback implements connector.Redirector.
func (c *Connector) HandleCallback(ctx context.Context, redirectURI string, query url.Values, _, codeVerifier string) (connector.Identity, error) {
	if e := query.Get("error"); e != "" {
		return connector.Identity{}, fmt.Errorf("github: answered %q: %w", e, connector.ErrUpstreamRefused)
	}
	code := query.Get("code")
	if code == "" {
		return connector.Identity{}, fmt.Errorf("github: callback without a code: %w", connector.ErrInvalidResponse)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout())
	defer cancel()
	tok, err := c.oauth(redirectURI).Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.client), code,
		oauth2.VerifierOption(codeVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return connector.Identity{}, fmt.Errorf("github: token request: %w: %w", connector.ErrUpstreamRefused, err)
		}
		return connector.Identity{}, fmt.Errorf("github: token request: %w: %w", connector.ErrUpstreamUnavailable, err)
	}
	return c.identity(ctx, tok.AccessToken)
}

type user struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

type email struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

type org struct {
	Login string `json:"login"`
}

type team struct {
	Slug         string `json:"slug"`
	Organization org    `json:"organization"`
}

func (c *Connector) identity(ctx context.Context, token string) (connector.Identity, error) {
	var u user
	if err := c.get(ctx, token, "/user", &u); err != nil {
		return connector.Identity{}, err
	}
	if u.ID == 0 || u.Login == "" {
		return connector.Identity{}, fmt.Errorf("github: /user without id or login: %w", connector.ErrInvalidResponse)
	}
	id := connector.Identity{ConnectorID: c.cfg.ID, Subject: strconv.FormatInt(u.ID, 10), Username: u.Login, Name: u.Name}
	var emails []email
	if err := c.list(ctx, token, "/user/emails", &emails); err != nil {
		return connector.Identity{}, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified { // only the verified primary address
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	if len(c.cfg.Orgs) == 0 && !c.cfg.TeamsGroups {
		return id, nil
	}
	var orgs []org
	if err := c.list(ctx, token, "/user/orgs", &orgs); err != nil {
		return connector.Identity{}, err
	}
	groups := []string{}
	for _, o := range orgs {
		if c.allowed(o.Login) {
			groups = append(groups, o.Login)
		}
	}
	if len(c.cfg.Orgs) > 0 && len(groups) == 0 {
		return connector.Identity{}, fmt.Errorf("github: %s is in none of the allowed organisations: %w", u.Login, connector.ErrUpstreamRefused)
	}
	if c.cfg.TeamsGroups {
		var teams []team
		if err := c.list(ctx, token, "/user/teams", &teams); err != nil {
			return connector.Identity{}, err
		}
		for _, t := range teams {
			if t.Slug != "" && c.allowed(t.Organization.Login) {
				groups = append(groups, t.Organization.Login+":"+t.Slug)
			}
		}
	}
	slices.Sort(groups)
	id.Groups = slices.Compact(groups)
	return id, nil
}

// allowed reports whether the organisation counts: every one when no
// list is configured, else those listed (GitHub logins are
// case-insensitive).
func (c *Connector) allowed(login string) bool {
	if login == "" {
		return false
	}
	if len(c.cfg.Orgs) == 0 {
		return true
	}
	return slices.ContainsFunc(c.cfg.Orgs, func(o string) bool { return strings.EqualFold(o, login) })
}

// list reads every page (up to maxPages of 100) of a list endpoint.
func (c *Connector) list(ctx context.Context, token, path string, out any) error {
	var all []json.RawMessage
	for page := 1; page <= maxPages; page++ {
		var items []json.RawMessage
		if err := c.get(ctx, token, path+"?per_page=100&page="+strconv.Itoa(page), &items); err != nil {
			return err
		}
		all = append(all, items...)
		if len(items) < 100 {
			break
		}
	}
	b, _ := json.Marshal(all)
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("github: %s: %w: %w", path, connector.ErrInvalidResponse, err)
	}
	return nil
}

// get calls the API with the token and decodes a JSON body of at most
// maxBody bytes.
func (c *Connector) get(ctx context.Context, token, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+path, nil)
	if err != nil {
		return fmt.Errorf("github: %s: %w: %w", path, connector.ErrInvalidResponse, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("github: %s: %w: %w", path, connector.ErrUpstreamUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	switch {
	case err != nil:
		return fmt.Errorf("github: %s: %w: %w", path, connector.ErrUpstreamUnavailable, err)
	case len(body) > maxBody:
		return fmt.Errorf("github: %s: body over %d bytes: %w", path, maxBody, connector.ErrInvalidResponse)
	case res.StatusCode >= 500:
		return fmt.Errorf("github: %s: status %d: %w", path, res.StatusCode, connector.ErrUpstreamUnavailable)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("github: %s: status %d: %w", path, res.StatusCode, connector.ErrUpstreamRefused)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("github: %s: %w: %w", path, connector.ErrInvalidResponse, err)
	}
	return nil
}
