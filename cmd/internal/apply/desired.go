package apply

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/userpolicy"
	"github.com/monban-idp/monban/web/adminapi"
)

// MinSecretLen is the shortest client secret apply accepts from a file or
// an environment variable: secrets are stored as SHA-256, which suits
// only high-entropy values (a generated one has 43 characters). It is
// the admin API's minimum too.
const MinSecretLen = clientpolicy.MinSecretLen

// Env is how Desire reaches secrets and key files.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// Policy are the deployment settings client validation depends on.
	Policy []clientpolicy.Option
}

// Desired is what the file asks for, validated by the policies.
type Desired struct {
	Clients []DesiredClient
	Groups  []DesiredGroup
	// Notes are things the operator should know (a connectors key).
	Notes []string
}

// DesiredClient is a client (or service account) of the file: the
// settings the file manages, and the secret when the file names one.
type DesiredClient struct {
	Client *storage.Client
	Secret string // from secret_file or secret_env; "" when none is named
	Where  string // "line 12: client \"shop\"", for messages
}

// DesiredGroup is a group of the file.
type DesiredGroup struct {
	Group   *storage.Group // Name and Description
	Members *[]string      // sorted; nil when the file leaves them alone
	Where   string
}

// policyKey names the file's key for each field the client policy
// reports on (the others are the same).
var policyKey = map[string]string{
	clientpolicy.FieldID:         "id",
	clientpolicy.FieldName:       "name",
	clientpolicy.FieldScopes:     "scopes",
	clientpolicy.FieldRequirePAR: "require_pushed_authorization_requests",
	adminapi.FieldClientSecret:   "secret_file/secret_env",
}

// Desire turns a decoded file into the objects it declares and checks
// each with the client and group policies; it reports every problem,
// each with its line and key.
func Desire(f *File, env Env) (*Desired, error) {
	d := &Desired{}
	var errs []error
	if f.Connectors.Kind != 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("line %d: connectors are configured in the server config file, "+
			"not by apply: the connectors key is ignored", f.lines["connectors"]))
	}
	ids := map[string]string{}
	add := func(where string, fc *storage.Client, s Secret, jwksFile string) {
		var problems []error
		secret, err := readSecret(s, env)
		if err != nil {
			problems = append(problems, err)
		}
		if secret != "" && !usesSecret(fc.AuthMethod) {
			problems = append(problems, fmt.Errorf("secret_file/secret_env: a client with token_endpoint_auth_method %s has no secret", fc.AuthMethod))
		}
		if jwksFile != "" {
			if fc.JWKS != "" {
				problems = append(problems, errors.New("jwks_file: give jwks or jwks_file, not both"))
			} else if b, err := env.ReadFile(jwksFile); err != nil {
				problems = append(problems, fmt.Errorf("jwks_file: cannot read %s: %v", jwksFile, readError(err)))
			} else {
				fc.JWKS = string(b)
			}
		}
		// Compact, as the admin API stores and shows it, so that the two
		// targets compare alike.
		fc.JWKS = compactJSON(fc.JWKS)
		for _, fe := range clientpolicy.ValidateClient(fc, env.Policy...) {
			key := fe.Field
			if k, ok := policyKey[key]; ok {
				key = k
			}
			problems = append(problems, fmt.Errorf("%s: %s", key, fe.Message))
		}
		if prev, ok := ids[fc.ID]; ok && fc.ID != "" {
			problems = append(problems, fmt.Errorf("id: %q is declared twice (also at %s)", fc.ID, prev))
		}
		ids[fc.ID] = where
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %w", where, p))
		}
		d.Clients = append(d.Clients, DesiredClient{Client: fc, Secret: secret, Where: where})
	}
	for i, c := range f.Clients {
		add(fmt.Sprintf("line %d: client %q", f.line("clients", i), c.ID), c.client(), c.Secret, c.JWKSFile)
	}
	for i, s := range f.ServiceAccounts {
		add(fmt.Sprintf("line %d: service account %q", f.line("service_accounts", i), s.ID), s.client(), s.Secret, s.JWKSFile)
	}
	names := map[string]bool{}
	for i, g := range f.Groups {
		where := fmt.Sprintf("line %d: group %q", f.line("groups", i), g.Name)
		sg := &storage.Group{Name: g.Name, Description: g.Description}
		for _, fe := range userpolicy.ValidateGroup(sg) {
			key := fe.Field
			if key == userpolicy.FieldGroupName {
				key = "name"
			}
			errs = append(errs, fmt.Errorf("%s: %s: %s", where, key, fe.Message))
		}
		if names[g.Name] {
			errs = append(errs, fmt.Errorf("%s: name: declared twice", where))
		}
		names[g.Name] = true
		dg := DesiredGroup{Group: sg, Where: where}
		if g.Members != nil {
			m := sortedSet(*g.Members)
			if len(m) != len(*g.Members) {
				errs = append(errs, fmt.Errorf("%s: members: a username is listed twice", where))
			}
			dg.Members = &m
		}
		d.Groups = append(d.Groups, dg)
	}
	return d, errors.Join(errs...)
}

// client is the storage.Client the entry declares, with the defaults of
// "monban client add" for what it leaves out.
func (c FileClient) client() *storage.Client {
	cl := &storage.Client{
		ID: c.ID, Name: c.Name,
		ApplicationType:                  or(c.ApplicationType, storage.ApplicationWeb),
		AuthMethod:                       or(c.TokenEndpointAuthMethod, storage.AuthMethodBasic),
		RedirectURIs:                     c.RedirectURIs,
		PostLogoutRedirectURIs:           c.PostLogoutRedirectURIs,
		GrantTypes:                       c.GrantTypes,
		Scopes:                           c.Scopes,
		RequireConsent:                   c.RequireConsent,
		RequireMFA:                       c.RequireMFA,
		RequirePAR:                       c.RequirePAR,
		BackchannelLogoutURI:             c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		AccessTokenTTL:                   time.Duration(c.AccessTokenTTL),
		RefreshTokenTTL:                  time.Duration(c.RefreshTokenTTL),
		IDTokenSigningAlg:                c.IDTokenSignedResponseAlg,
		JWKS:                             c.JWKS,
		JWKSURI:                          c.JWKSURI,
		AllowedGroups:                    c.AllowedGroups,
		DPoPBoundAccessTokens:            c.DPoPBoundAccessTokens,
		TokenExchangeAudiences:           c.TokenExchangeAudiences,
		OmitRefreshIDToken:               c.RefreshIDToken != nil && !*c.RefreshIDToken,
	}
	if cl.GrantTypes == nil {
		cl.GrantTypes = strings.Split(clientpolicy.DefaultGrants, ",")
	}
	if cl.Scopes == nil {
		cl.Scopes = strings.Fields(clientpolicy.DefaultScopes)
	}
	for _, m := range c.ClaimMappings {
		cl.ClaimMappings = append(cl.ClaimMappings, storage.ClaimMapping{Attribute: m.Attribute, Claim: m.Claim, Scope: or(m.Scope, "profile")})
	}
	return cl
}

// client is the storage.Client of a service account: client_credentials
// only, no redirect URIs.
func (s FileServiceAccount) client() *storage.Client {
	return &storage.Client{
		ID: s.ID, Name: s.Name,
		ApplicationType:        storage.ApplicationWeb,
		AuthMethod:             or(s.TokenEndpointAuthMethod, storage.AuthMethodBasic),
		GrantTypes:             []string{"client_credentials"},
		Scopes:                 s.Scopes,
		AccessTokenTTL:         time.Duration(s.AccessTokenTTL),
		JWKS:                   s.JWKS,
		JWKSURI:                s.JWKSURI,
		DPoPBoundAccessTokens:  s.DPoPBoundAccessTokens,
		TokenExchangeAudiences: s.TokenExchangeAudiences,
	}
}

// readSecret reads the secret the entry names, if any.
func readSecret(s Secret, env Env) (string, error) {
	var v string
	switch {
	case s.File != "" && s.Env != "":
		return "", errors.New("secret_file/secret_env: give one, not both")
	case s.File != "":
		b, err := env.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("secret_file: cannot read %s: %v", s.File, readError(err))
		}
		v = strings.TrimRight(string(b), "\r\n")
	case s.Env != "":
		if v = env.Getenv(s.Env); v == "" {
			return "", fmt.Errorf("secret_env: the environment variable %s is not set or empty", s.Env)
		}
	default:
		return "", nil
	}
	if len(v) < MinSecretLen {
		return "", fmt.Errorf("secret: the secret is shorter than %d characters; use a random one (e.g. openssl rand -base64 32)", MinSecretLen)
	}
	return v, nil
}

// readError is a file error without the path repeated.
func readError(err error) string {
	var pe interface{ Unwrap() error }
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return pe.Unwrap().Error()
	}
	return err.Error()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
