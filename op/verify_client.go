package op

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"

	"github.com/monban-idp/monban/storage"
)

// tokenServer implements zitadel's op.Server for the token endpoint. Grants
// it does not override answer unsupported_grant_type.
type tokenServer struct {
	zop.UnimplementedServer
	p *Provider
}

// errInvalidClient is the one answer for every client authentication
// failure (RFC 6749 §5.2), so unknown clients and wrong secrets look alike.
func errInvalidClient() error {
	return zop.NewStatusError(oidc.ErrInvalidClient().WithDescription("client authentication failed"), http.StatusUnauthorized)
}

// VerifyClient authenticates the client with the method it registered
// (OIDC Core §9: a client registers one token_endpoint_auth_method):
// client_secret_basic only in the Authorization header, client_secret_post
// only as client_id and client_secret in the body (RFC 6749 §2.3.1), none
// with no secret at all. The same holds at the token, revocation and
// introspection endpoints. A client that uses another method than its
// own, even with the right secret, gets invalid_client (RFC 6749 §5.2):
// accepting either would let a secret leaked through one channel (a
// logged form body, a proxy's Authorization header) work where the
// client never sends it. Secrets are compared by their SHA-256 in
// constant time.
//
// Failures are counted per client_id (checklist T6, RFC 6749 §2.3.1); see
// clientAuthFailed.
func (s *tokenServer) VerifyClient(ctx context.Context, r *zop.Request[zop.ClientCredentials]) (zop.Client, error) {
	c, err := s.authenticateClient(ctx, r)
	if errors.Is(err, errClientAuthFailed) {
		return nil, s.clientAuthFailed(ctx, r.Data.ClientID)
	}
	// RFC 6749 §4.4: the client_credentials grant is for confidential
	// clients only (checklist D6), whatever a public client registered.
	if err == nil && c.AuthMethod() == oidc.AuthMethodNone && r.Form.Get("grant_type") == string(oidc.GrantTypeClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("a public client may not use the client_credentials grant")
	}
	return c, err
}

// errClientAuthFailed marks a failed client authentication inside
// authenticateClient; VerifyClient turns it into the answer.
var errClientAuthFailed = errors.New("client authentication failed")

// clientFailurePolicy limits failed authentications per client_id
// (checklist T6, project choice: more than 20 a minute → 429). Secrets have
// 256 bits, so this is about wasted work, not guessing.
var clientFailurePolicy = storage.ThrottlePolicy{Window: time.Minute, Free: 20, Delay: time.Minute, MaxDelay: 15 * time.Minute}

// clientAuthFailed counts a failed client authentication and answers 401
// invalid_client, or 429 once the client_id is over the limit. Only
// failures are counted, so a successful authentication costs no store
// write, and a correct secret is always accepted: someone who spams wrong
// secrets for another client's ID cannot lock that client out.
func (s *tokenServer) clientAuthFailed(ctx context.Context, clientID string) error {
	key := "client:" + clientID
	if len(clientID) > 100 || !utf8.ValidString(clientID) {
		key = "client-sha256:" + storage.HashToken(clientID)
	}
	_, admitted, err := s.p.store.RecordLoginFailure(ctx, key, s.p.now(), clientFailurePolicy)
	if err != nil {
		return s.p.serverError(ctx, err)
	}
	if !admitted {
		s.p.log.WarnContext(ctx, "client authentication throttled", "event", "client_auth_throttled", "client_id_key", key)
		return zop.NewStatusError(oidc.ErrInvalidClient().WithDescription("too many failed client authentications; try again later"),
			http.StatusTooManyRequests)
	}
	return errInvalidClient()
}

// authenticateClient does VerifyClient's checks; every refusal is
// errClientAuthFailed. A refusal based on a cached client is checked once
// more against the store, so a secret just rotated or a client just
// re-enabled elsewhere is accepted at once (see DefaultClientCacheTTL);
// only refusals pay that extra read.
func (s *tokenServer) authenticateClient(ctx context.Context, r *zop.Request[zop.ClientCredentials]) (zop.Client, error) {
	c, err := s.authenticateClientOnce(ctx, r)
	if errors.Is(err, errClientAuthFailed) && s.p.clientCached(r.Data.ClientID) {
		s.p.InvalidateClient(r.Data.ClientID)
		c, err = s.authenticateClientOnce(ctx, r)
	}
	return c, err
}

// authenticateClientOnce is one attempt of authenticateClient.
func (s *tokenServer) authenticateClientOnce(ctx context.Context, r *zop.Request[zop.ClientCredentials]) (zop.Client, error) {
	cc := r.Data
	if cc.ClientAssertion != "" || cc.ClientAssertionType != "" { // private_key_jwt (assertion.go)
		if _, _, basic := basicAuth(r.Header); basic {
			return nil, errClientAuthFailed
		}
		c, err := s.p.authenticateAssertion(ctx, r)
		if err != nil {
			return nil, err
		}
		return client{c}, nil
	}
	c, err := s.p.store.GetClient(ctx, cc.ClientID)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, errClientAuthFailed
		}
		return nil, s.p.serverError(ctx, err)
	}
	if c.Disabled {
		return nil, errClientAuthFailed
	}
	_, _, basic := basicAuth(r.Header)
	switch c.AuthMethod {
	case storage.AuthMethodNone:
		if cc.ClientSecret != "" || basic {
			return nil, errClientAuthFailed
		}
		return client{c}, nil
	case storage.AuthMethodBasic:
		if !basic {
			return nil, errClientAuthFailed
		}
	case storage.AuthMethodPost:
		if basic {
			return nil, errClientAuthFailed
		}
	default: // private_key_jwt without an assertion, or unknown
		return nil, errClientAuthFailed
	}
	if cc.ClientSecret == "" || c.SecretHash == "" ||
		subtle.ConstantTimeCompare([]byte(storage.HashToken(cc.ClientSecret)), []byte(c.SecretHash)) != 1 {
		return nil, errClientAuthFailed
	}
	return client{c}, nil
}

func basicAuth(h http.Header) (string, string, bool) {
	r := http.Request{Header: h}
	return r.BasicAuth()
}

// formEndpoint is one of the endpoints clients POST forms to with their
// credentials: token (RFC 6749 §3.2), revocation (RFC 7009 §2.1) and
// introspection (RFC 7662 §2.1). check validates the endpoint's own
// required parameter; its error is answered with 400.
type formEndpoint struct {
	name  string // for error descriptions: "the token endpoint"
	check func(form url.Values) *oidc.Error
	// repeatable, when set, names the parameters that this request may
	// send more than once; every other one is refused when repeated.
	repeatable func(form url.Values, key string) bool
}

var (
	tokenEndpoint = formEndpoint{name: "the token endpoint", check: func(form url.Values) *oidc.Error {
		switch form.Get("grant_type") {
		case string(oidc.GrantTypeCode), string(oidc.GrantTypeRefreshToken), string(oidc.GrantTypeClientCredentials),
			GrantDeviceCode, GrantTokenExchange:
			return nil
		case "":
			return oidc.ErrInvalidRequest().WithDescription("grant_type is required")
		}
		return oidc.ErrUnsupportedGrantType()
	}, repeatable: exchangeTargetParam}
	revocationEndpoint    = formEndpoint{name: "the revocation endpoint", check: requireToken}
	introspectionEndpoint = formEndpoint{name: "the introspection endpoint", check: requireToken}
	// RFC 8628 §3.1: client_id (or client authentication) and scope.
	deviceAuthorizationEndpoint = formEndpoint{name: "the device authorization endpoint", check: func(url.Values) *oidc.Error { return nil }}
)

// requireToken checks the token parameter of revocation (RFC 7009 §2.1)
// and introspection (RFC 7662 §2.1) requests.
func requireToken(form url.Values) *oidc.Error {
	if form.Get("token") == "" {
		return oidc.ErrInvalidRequest().WithDescription("token is required")
	}
	return nil
}

// formGuard enforces HTTP hygiene on a form endpoint before the library
// sees the request (RFC 6749 §3.2, §5.1; RFC 7009 §2.1; RFC 7662 §2.1;
// ASVS 15.2.2, 15.3.7): POST only, form-encoded body only (credentials
// never in the URL), a bounded body, no repeated parameters (but those
// the endpoint's repeatable allows), the endpoint's own check, and `Cache-Control: no-store` plus
// `WWW-Authenticate` on 401.
func formGuard(e formEndpoint, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"], h["Pragma"] = noStore, noCache
		if r.Method != http.MethodPost {
			h.Set("Allow", http.MethodPost)
			writeOAuthError(w, http.StatusMethodNotAllowed, oidc.ErrInvalidRequest().WithDescription("%s accepts only POST", e.name))
			return
		}
		ct := r.Header.Get("Content-Type")
		if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded") {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("the body must be application/x-www-form-urlencoded"))
			return
		}
		if r.URL.RawQuery != "" {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("parameters must be sent in the body, not the URL"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBodyBytes)
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, oidc.ErrInvalidRequest().WithDescription("the body is too large or malformed"))
			return
		}
		for key, vals := range r.PostForm {
			if len(vals) > 1 && (e.repeatable == nil || !e.repeatable(r.PostForm, key)) {
				writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("a parameter is included more than once"))
				return
			}
		}
		// RFC 6749 §2.3: a client MUST NOT use more than one authentication
		// method in a request (checklist T7).
		if r.Header.Get("Authorization") != "" && (r.PostForm.Has("client_secret") || r.PostForm.Has("client_assertion")) {
			writeOAuthError(w, http.StatusBadRequest, oidc.ErrInvalidRequest().WithDescription("client authentication must use only one method"))
			return
		}
		if oerr := e.check(r.PostForm); oerr != nil {
			writeOAuthError(w, http.StatusBadRequest, oerr)
			return
		}
		next.ServeHTTP(&challengeWriter{ResponseWriter: w, basic: r.Header.Get("Authorization") != ""}, r)
	})
}

// The values formGuard sets on every answer, built once (as Header.Set,
// without its allocation; Header.Add copies a full slice before appending).
var (
	noStore = []string{"no-store"}
	noCache = []string{"no-cache"}
)

// challengeWriter adds `WWW-Authenticate` to 401 answers (RFC 6749 §5.2).
type challengeWriter struct {
	http.ResponseWriter
	basic bool
}

func (c *challengeWriter) WriteHeader(status int) {
	if status == http.StatusTooManyRequests {
		c.Header().Set("Retry-After", "60")
	}
	if status == http.StatusUnauthorized {
		scheme := `Basic realm="token"`
		if !c.basic {
			scheme = `Basic realm="token", error="invalid_client"`
		}
		c.Header().Set("WWW-Authenticate", scheme)
	}
	c.ResponseWriter.WriteHeader(status)
}
