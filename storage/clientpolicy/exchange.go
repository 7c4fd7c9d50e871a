package clientpolicy

import (
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/monban-idp/monban/storage"
)

// GrantTokenExchange is the token exchange grant (RFC 8693 §2.1), for
// confidential clients with a list of audiences they may exchange
// tokens for.
const GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// FieldTokenExchangeAudiences is the client's list of audiences it may
// ask for in a token exchange (RFC 8693 §2.1 audience and resource).
const FieldTokenExchangeAudiences = "token_exchange_audiences"

// MaxTokenExchangeAudiences bounds a client's audience list.
const MaxTokenExchangeAudiences = 20

// urnPattern is the form of a URN (RFC 8141 §2): urn:NID:NSS, the NID a
// letter or digit, then letters, digits or hyphens, the NSS non-empty.
var urnPattern = regexp.MustCompile(`^(?i:urn):[A-Za-z0-9][A-Za-z0-9-]{0,30}[A-Za-z0-9]:[!-~]+$`)

// ValidAudience reports whether s may be a token-exchange audience: an
// absolute https URL with a host and without a fragment or user
// information (RFC 8707 §2: resource indicators are absolute URIs without
// fragments), or a URN (RFC 8141), as RFC 8693 §2.1 allows both forms of
// logical name. At most MaxRedirectURILen characters of printable ASCII.
func ValidAudience(s string) bool {
	if s == "" || len(s) > MaxRedirectURILen || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return false
	}
	if urnPattern.MatchString(s) {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Hostname() != "" && u.User == nil &&
		u.Fragment == "" && !strings.Contains(s, "#") && u.Opaque == ""
}

// validateExchange checks the token exchange settings: the grant is for
// confidential clients only (RFC 8693 §2.1 lets the server require client
// authentication; monban always does), it needs at least one audience,
// and audiences without the grant would promise something the client
// cannot use. Each audience is an https URL or a URN, listed once.
func validateExchange(cl *storage.Client) storage.FieldErrors {
	var errs storage.FieldErrors
	grant := cl.HasGrant(GrantTokenExchange)
	switch {
	case grant && cl.Public():
		errs.Put(FieldGrantTypes, storage.Problem("policy.client.exchange_public", nil,
			"grant type token-exchange needs a confidential client (one that authenticates)"))
	case grant && len(cl.TokenExchangeAudiences) == 0:
		errs.Put(FieldTokenExchangeAudiences, storage.Problem("policy.client.exchange_audience_required", nil,
			"the token-exchange grant needs at least one audience the client may exchange tokens for"))
	case !grant && len(cl.TokenExchangeAudiences) > 0:
		errs.Put(FieldTokenExchangeAudiences, storage.Problem("policy.client.exchange_grant_required",
			map[string]any{"Grant": GrantTokenExchange},
			"token exchange audiences need the grant type %s", GrantTokenExchange))
	}
	if n := len(cl.TokenExchangeAudiences); n > MaxTokenExchangeAudiences {
		errs.Put(FieldTokenExchangeAudiences, storage.Problem("policy.client.exchange_audience_too_many",
			map[string]any{"Max": MaxTokenExchangeAudiences}, "too many token exchange audiences: %d (at most %d)", n, MaxTokenExchangeAudiences))
	}
	for i, a := range cl.TokenExchangeAudiences {
		switch {
		case !ValidAudience(a):
			errs.Put(FieldTokenExchangeAudiences, storage.Problem("policy.client.exchange_audience_invalid",
				map[string]any{"Audience": Shorten(a)},
				"token exchange audience %q must be an absolute https URL without a fragment, or a URN such as urn:example:api", Shorten(a)))
		case slices.Contains(cl.TokenExchangeAudiences[:i], a):
			errs.Put(FieldTokenExchangeAudiences, storage.Problem("policy.client.exchange_audience_twice",
				map[string]any{"Audience": Shorten(a)}, "token exchange audience %q is listed twice", Shorten(a)))
		}
	}
	return errs
}
