package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/monban-idp/monban/web/adminapi"
)

// APITimeout bounds one call of the admin API (connection, request and
// answer) when NewAPITarget makes the HTTP client.
const APITimeout = 30 * time.Second

// maxAnswer bounds an answer body read from the API.
const maxAnswer = 16 << 20

// ErrToken is the API's refusal of the token: 401 (invalid, expired,
// revoked, not a service account's) or 403 (a scope is missing).
var ErrToken = errors.New("the admin API refused the token")

// APITarget is the Target of a running server's admin API
// (/admin/api/v1, package web/adminapi): `monban apply --server URL
// --token-file F`. Versions are the API's ETags, sent back in If-Match,
// so a concurrent change answers 412 (ErrStale). The API never shows a
// secret's hash, so clients with a secret are SecretUnknown: a secret the
// file declares is sent (as the write-only client_secret) on every run.
type APITarget struct {
	server string // as given, for messages
	base   string // server + adminapi.Prefix
	token  string
	http   *http.Client
}

var _ Target = (*APITarget)(nil)

// NewAPITarget checks the server's URL (http or https, a host, no query)
// and the token, and returns the target. hc nil: a client with
// APITimeout that does not follow redirects (a redirect is reported, so
// the token is never sent on to another place).
func NewAPITarget(server, token string, hc *http.Client) (*APITarget, error) {
	u, err := url.Parse(strings.TrimSpace(server))
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("--server %q: give the server's URL, e.g. https://id.example.com", server)
	case u.User != nil, u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("--server %q: the URL must not hold a user, a query or a fragment", server)
	}
	if token == "" {
		return nil, errors.New("the token file is empty")
	}
	if strings.ContainsFunc(token, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return nil, errors.New("the token file holds more than one token, or characters a token cannot have")
	}
	if hc == nil {
		hc = &http.Client{Timeout: APITimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	base := strings.TrimSuffix(strings.TrimSuffix(u.String(), "/"), adminapi.Prefix)
	return &APITarget{server: base, base: base + adminapi.Prefix, token: token, http: hc}, nil
}

// answer is the API's answer to one call.
type answer struct {
	method, path string
	status       int
	etag         string
	contentType  string
	body         []byte
}

// call sends one request; body, when not nil, goes as JSON. It returns
// the answer whatever its status, but for the token's refusal (ErrToken),
// a redirect and no answer at all, which are errors.
func (t *APITarget) call(ctx context.Context, method, path string, body any, ifMatch string) (*answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("--server %s: %v", t.server, err)
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Accept", "application/json, application/problem+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := t.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the admin API at %s: %v", t.server, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("the admin API at %s: reading the answer to %s %s: %v", t.server, method, path, err)
	}
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	a := &answer{method: method, path: path, status: res.StatusCode, etag: res.Header.Get("ETag"), contentType: ct, body: b}
	switch {
	case a.status == http.StatusUnauthorized:
		return nil, fmt.Errorf("%w (401 %s): %s Put a live access token of a service account in the token file "+
			"(the client_credentials grant with admin:write; tokens are short-lived)", ErrToken, a.title(), a.detail())
	case a.status == http.StatusForbidden:
		return nil, fmt.Errorf("%w (403 %s) for %s %s: %s apply needs a token with admin:write "+
			"(or admin:clients and admin:groups, which may not create or change a service account with admin scopes)", ErrToken, a.title(), method, adminapi.Prefix+path, a.detail())
	case a.status >= 300 && a.status < 400:
		return nil, fmt.Errorf("the server at %s answered %d and sends to %s: give the URL of the server itself as --server",
			t.server, a.status, res.Header.Get("Location"))
	}
	return a, nil
}

// problem is the answer's problem document (RFC 9457), or nil.
func (a *answer) problem() *adminapi.Problem {
	if a.contentType != "application/problem+json" {
		return nil
	}
	var p adminapi.Problem
	if json.Unmarshal(a.body, &p) != nil || p.Status == 0 {
		return nil
	}
	return &p
}

func (a *answer) title() string {
	if p := a.problem(); p != nil {
		return p.Title
	}
	return http.StatusText(a.status)
}

func (a *answer) detail() string {
	if p := a.problem(); p != nil && p.Detail != "" {
		return p.Detail
	}
	return ""
}

// refusal words an answer apply did not expect: a problem document's
// detail and, for a refused object, each field by the file's key.
func (t *APITarget) refusal(a *answer) error {
	p := a.problem()
	if p == nil {
		return fmt.Errorf("the server at %s answered %s %s with %d (%s) and no problem document: is --server the URL of a monban server?",
			t.server, a.method, adminapi.Prefix+a.path, a.status, or(a.contentType, "no content type"))
	}
	if len(p.Errors) == 0 {
		return fmt.Errorf("the admin API refused it (%d %s): %s", p.Status, p.Title, p.Detail)
	}
	var parts []string
	for _, fe := range p.Errors {
		key := fe.Field
		if k, ok := policyKey[key]; ok {
			key = k
		}
		if key == "" {
			parts = append(parts, fe.Message)
		} else {
			parts = append(parts, key+": "+fe.Message)
		}
	}
	return fmt.Errorf("the admin API refused it (%d %s): %s", p.Status, p.Title, strings.Join(parts, "; "))
}

// decodeAnswer reads an answer's JSON into v.
func (t *APITarget) decodeAnswer(a *answer, v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("the server at %s answered %s %s with JSON apply does not understand (is it a monban server of this version?)",
			t.server, a.method, adminapi.Prefix+a.path)
	}
	return nil
}

// get reads one object into v and returns its ETag; ErrGone on 404.
func (t *APITarget) get(ctx context.Context, path string, v any) (string, error) {
	a, err := t.call(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return "", err
	}
	switch {
	case a.status == http.StatusNotFound && a.problem() != nil:
		return "", ErrGone
	case a.status != http.StatusOK:
		return "", t.refusal(a)
	case a.etag == "":
		return "", fmt.Errorf("the server at %s answered GET %s without an ETag: apply cannot guard its changes", t.server, adminapi.Prefix+path)
	}
	return a.etag, t.decodeAnswer(a, v)
}

// listAll reads every page of a list (keyset pagination: the next
// cursor until there is none). path may hold a query already.
func listAll[T any](ctx context.Context, t *APITarget, path string) ([]T, error) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var out []T
	seen := map[string]bool{}
	for cursor := ""; ; {
		p := path + sep + "limit=" + strconv.Itoa(adminapi.MaxLimit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		a, err := t.call(ctx, http.MethodGet, p, nil, "")
		if err != nil {
			return nil, err
		}
		if a.status != http.StatusOK {
			return nil, t.refusal(a)
		}
		var page adminapi.List[T]
		if err := t.decodeAnswer(a, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		if seen[page.Next] {
			return nil, fmt.Errorf("the server at %s answered GET %s with a cursor it gave before", t.server, adminapi.Prefix+path)
		}
		seen[page.Next], cursor = true, page.Next
	}
}

// write sends a change guarded by version (If-Match) and returns the
// answer: 412 is ErrStale, 404 ErrGone, 409 conflict (the caller's
// sentinel); any other status but want is a refusal.
func (t *APITarget) write(ctx context.Context, method, path string, body any, version string, want int, conflict error) (*answer, error) {
	a, err := t.call(ctx, method, path, body, version)
	if err != nil {
		return nil, err
	}
	switch {
	case a.status == want:
		return a, nil
	case a.status == http.StatusPreconditionFailed:
		return nil, ErrStale
	case a.status == http.StatusNotFound && a.problem() != nil:
		return nil, ErrGone
	case a.status == http.StatusConflict && conflict != nil:
		return nil, fmt.Errorf("%w (%s)", conflict, a.detail())
	}
	return nil, t.refusal(a)
}
