package apply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes bounds a configuration file.
const MaxFileBytes = 4 << 20

// File is a configuration file as written: the clients, service accounts
// and groups monban apply manages. Keys not listed here are errors.
type File struct {
	Clients         []FileClient         `yaml:"clients"`
	ServiceAccounts []FileServiceAccount `yaml:"service_accounts"`
	Groups          []FileGroup          `yaml:"groups"`
	// Connectors is accepted and ignored: upstream connectors (issue 18)
	// are configured in the server's configuration file, and apply says
	// so when the key is present.
	Connectors yaml.Node `yaml:"connectors"`

	// lines of each entry, for messages: kind and index → line.
	lines map[string]int
}

// Secret is where a client secret comes from: a file or an environment
// variable, never the configuration file itself.
type Secret struct {
	File string `yaml:"secret_file"`
	Env  string `yaml:"secret_env"`
}

// FileClient is a client (a relying party) as the file declares it; the
// names are those of OpenID Connect Dynamic Client Registration §2 where
// it has one. An omitted setting takes the default a new client gets
// from "monban client add", not the value stored now.
type FileClient struct {
	ID                               string        `yaml:"id"`
	Name                             string        `yaml:"name"`
	ApplicationType                  string        `yaml:"application_type"`
	TokenEndpointAuthMethod          string        `yaml:"token_endpoint_auth_method"`
	RedirectURIs                     []string      `yaml:"redirect_uris"`
	PostLogoutRedirectURIs           []string      `yaml:"post_logout_redirect_uris"`
	GrantTypes                       []string      `yaml:"grant_types"`
	Scopes                           []string      `yaml:"scopes"`
	RequireConsent                   bool          `yaml:"require_consent"`
	RequireMFA                       bool          `yaml:"require_mfa"`
	RequirePAR                       bool          `yaml:"require_pushed_authorization_requests"`
	BackchannelLogoutURI             string        `yaml:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired bool          `yaml:"backchannel_logout_session_required"`
	AccessTokenTTL                   Duration      `yaml:"access_token_ttl"`
	RefreshTokenTTL                  Duration      `yaml:"refresh_token_ttl"`
	IDTokenSignedResponseAlg         string        `yaml:"id_token_signed_response_alg"`
	JWKS                             string        `yaml:"jwks"`
	JWKSFile                         string        `yaml:"jwks_file"`
	JWKSURI                          string        `yaml:"jwks_uri"`
	AllowedGroups                    []string      `yaml:"allowed_groups"`
	ClaimMappings                    []FileMapping `yaml:"claim_mappings"`
	DPoPBoundAccessTokens            bool          `yaml:"dpop_bound_access_tokens"`
	TokenExchangeAudiences           []string      `yaml:"token_exchange_audiences"`
	// RefreshIDToken: refresh responses carry a new ID token (OIDC Core
	// §12.2); nil (the key left out) is the default, true.
	RefreshIDToken *bool `yaml:"refresh_id_token"`
	Secret         `yaml:",inline"`
}

// FileMapping is a claim mapping (storage.ClaimMapping); Scope defaults
// to profile.
type FileMapping struct {
	Claim     string `yaml:"claim"`
	Attribute string `yaml:"attribute"`
	Scope     string `yaml:"scope"`
}

// FileServiceAccount is a client that calls APIs as itself: the
// client_credentials grant (RFC 6749 §4.4) only, no redirect URIs, with
// the scopes it may ask for (admin:read, admin:write for the admin API).
type FileServiceAccount struct {
	ID                      string   `yaml:"id"`
	Name                    string   `yaml:"name"`
	Scopes                  []string `yaml:"scopes"`
	TokenEndpointAuthMethod string   `yaml:"token_endpoint_auth_method"`
	AccessTokenTTL          Duration `yaml:"access_token_ttl"`
	JWKS                    string   `yaml:"jwks"`
	JWKSFile                string   `yaml:"jwks_file"`
	JWKSURI                 string   `yaml:"jwks_uri"`
	DPoPBoundAccessTokens   bool     `yaml:"dpop_bound_access_tokens"`
	TokenExchangeAudiences  []string `yaml:"token_exchange_audiences"`
	Secret                  `yaml:",inline"`
}

// FileGroup is a group. Members, when the key is present (even empty),
// is the whole membership by username; when it is absent, apply leaves
// the membership alone.
type FileGroup struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Members     *[]string `yaml:"members"`
}

// Duration is a Go duration in the file ("5m", "720h"); empty or 0 means
// the provider default.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 5m or 720h", n.Line)
	}
	if n.Value == "" || n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 5m or 720h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Decode reads a configuration file strictly: an unknown key, a value of
// the wrong type or a second document is an error naming the line and
// the key.
func Decode(r io.Reader) (*File, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("the file is larger than %d bytes", MaxFileBytes)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, cleanYAMLError(err, nil)
	}
	paths := map[int]string{}
	if len(root.Content) > 0 {
		nodePaths(root.Content[0], "", paths)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, cleanYAMLError(err, paths)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("the file holds more than one YAML document")
	}
	f.lines = map[string]int{}
	if len(root.Content) > 0 {
		recordLines(root.Content[0], f.lines)
	}
	return &f, nil
}

// nodePaths records, for each line, the key path of the first value on
// it (clients[0].redirect_uris), so that a type error can name its key.
func nodePaths(n *yaml.Node, path string, out map[int]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			if _, ok := out[k.Line]; !ok {
				out[k.Line] = p
			}
			nodePaths(v, p, out)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			if _, ok := out[v.Line]; !ok || v.Kind == yaml.ScalarNode {
				out[v.Line] = p
			}
			nodePaths(v, p, out)
		}
	}
}

// recordLines notes the line of every entry of the top-level lists.
func recordLines(n *yaml.Node, out map[string]int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value == "connectors" {
			out["connectors"] = k.Line
		}
		if v.Kind != yaml.SequenceNode {
			continue
		}
		for j, e := range v.Content {
			out[k.Value+"["+strconv.Itoa(j)+"]"] = e.Line
		}
	}
}

// line returns where the entry kind[i] starts, 0 if unknown.
func (f *File) line(kind string, i int) int { return f.lines[kind+"["+strconv.Itoa(i)+"]"] }

var (
	yamlLineRE    = regexp.MustCompile(`^line (\d+): `)
	yamlUnknownRE = regexp.MustCompile(`field (\S+) not found in type \S+`)
	yamlTypeRE    = regexp.MustCompile(`cannot unmarshal (!!\w+) ` + "`" + `([^` + "`" + `]*)` + "`" + ` into (\S+)`)
)

// friendlyType names the Go types of File in words.
var friendlyType = map[string]string{
	"bool": "true or false", "*bool": "true or false", "string": "a string", "[]string": "a list of strings",
	"*[]string": "a list of strings", "apply.File": "a mapping", "[]apply.FileClient": "a list of clients",
	"[]apply.FileServiceAccount": "a list of service accounts", "[]apply.FileGroup": "a list of groups",
	"apply.FileClient": "a mapping (a client)", "apply.FileServiceAccount": "a mapping (a service account)",
	"apply.FileGroup": "a mapping (a group)", "[]apply.FileMapping": "a list of claim mappings",
	"apply.FileMapping": "a mapping (claim, attribute, scope)",
}

// cleanYAMLError rewrites the decoder's messages for the operator: Go
// type names become words and each line names the key it is about.
func cleanYAMLError(err error, paths map[int]string) error {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var errs []error
	for _, m := range msgs {
		key := ""
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			if n, _ := strconv.Atoi(sm[1]); paths != nil {
				key = paths[n]
			}
		}
		if sm := yamlUnknownRE.FindStringSubmatch(m); sm != nil {
			m = yamlUnknownRE.ReplaceAllString(m, fmt.Sprintf("unknown key %q", sm[1]))
			key = parentPath(key)
		}
		if sm := yamlTypeRE.FindStringSubmatch(m); sm != nil {
			want := friendlyType[sm[3]]
			if want == "" {
				want = "another type"
			}
			m = yamlTypeRE.ReplaceAllString(m, fmt.Sprintf("%s is not %s", quoteValue(sm[2]), want))
		}
		if key != "" {
			m = yamlLineRE.ReplaceAllString(m, "line $1: "+key+": ")
		}
		errs = append(errs, errors.New(m))
	}
	return errors.Join(errs...)
}

// parentPath drops the last key of a path: an unknown key is reported
// under the entry that holds it.
func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func quoteValue(v string) string {
	if v == "" {
		return "the value"
	}
	return strconv.Quote(v)
}
