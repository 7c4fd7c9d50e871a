package storage

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
)

// AuditEntry is one row of the audit trail: a security event (a sign-in,
// a lockout, a consent answer, a refresh-token reuse, a logout) or a
// change made in the admin console. Entries never hold a secret: no
// password, token, code, client secret or hash of one.
type AuditEntry struct {
	ID   string
	Time time.Time
	// ActorID is the user the event concerns: the administrator who made
	// an admin change, or the person who signed in, answered consent or
	// was logged out. Empty when there is no known user (a failed sign-in
	// with an unknown username, an authorization code replay).
	ActorID string
	// Actor is that user's username at the time; for a failed sign-in, the
	// username as typed (never the password), even when no such user
	// exists.
	Actor string
	// Action names what happened: one of the Action constants, or an
	// admin change such as "client.create" or "user.disable". The part
	// before the first dot is the action's category (see AuditFilter).
	Action string
	// Target names the object acted on, e.g. "client:shop", "user:<id>",
	// "session:<id>"; empty when there is none.
	Target string
	// Before and After are JSON snapshots of the object an admin change
	// altered, with secrets and password hashes redacted; empty when there
	// is none (a creation has no Before, a deletion no After, a security
	// event neither).
	Before string
	After  string
	// Address is the client address (as the sign-in throttle counts it:
	// an IPv4 address or an IPv6 /64) of the browser request that caused
	// the entry: a sign-in attempt, a consent answer, an admin change.
	// Empty for events of the token endpoint and of logout, which do not
	// see the person's browser.
	Address string
	// Detail is a short human-readable explanation, e.g. "wrong password",
	// "throttled (address)", "scopes: openid profile"; empty when the
	// action says it all.
	Detail string
}

// Actions of security events. Admin changes use their own names
// ("client.create", "user.disable", "session.end", …) in the categories
// AdminCategories lists.
const (
	// ActionSignIn: a password sign-in succeeded and started a session
	// (Target "session:<id>", Detail the client).
	ActionSignIn = "signin.ok"
	// ActionSignInFailed: a sign-in attempt was refused: wrong password,
	// unknown, disabled or locked account, or throttled (Detail says
	// which). One entry per attempt.
	ActionSignInFailed = "signin.failed"
	// ActionLockout: a failed sign-in attempt that also locked a throttle
	// counter; it replaces the attempt's ActionSignInFailed entry, so an
	// attempt never writes two entries.
	ActionLockout = "signin.lockout"
	// ActionConsentGrant: the person approved a client's scopes.
	ActionConsentGrant = "consent.grant"
	// ActionConsentDeny: the person denied a client's request.
	ActionConsentDeny = "consent.deny"
	// ActionRefreshReuse: a rotated refresh token was presented again; its
	// whole family was revoked (RFC 9700 §4.14.2).
	ActionRefreshReuse = "token.reuse"
	// ActionCodeReuse: an authorization code was redeemed a second time by
	// the client it was issued to; the tokens issued for it were revoked
	// (RFC 6749 §4.1.2).
	ActionCodeReuse = "token.code_reuse"
	// ActionLogout: one browser session was ended, by the person, an
	// application (RP-initiated logout) or an administrator (Detail the
	// reason). Sessions that merely expire are not recorded.
	ActionLogout = "logout.session"
	// ActionLogoutAll: every session and refresh token of a user was ended
	// ("log out everywhere", user disabled, password changed).
	ActionLogoutAll = "logout.all"
	// ActionUpstreamUserCreated: the first sign-in of an upstream identity
	// created a local user just in time (issue 18; Detail the connector).
	ActionUpstreamUserCreated = "signin.user_created"
	// ActionIdentityLinked: a person proved a local account and linked an
	// upstream identity to it (Target the user, Detail the connector).
	ActionIdentityLinked = "signin.linked"
	// ActionIdentityUnlinked: an administrator removed a link between an
	// upstream identity and a user (Target the user).
	ActionIdentityUnlinked = "user.unlink_identity"
)

// Categories of audit actions: the part of an Action before its first dot.
const (
	CategorySignIn  = "signin"
	CategoryConsent = "consent"
	CategoryToken   = "token"
	CategoryLogout  = "logout"
)

// AdminCategories returns the categories of admin changes (console and
// admin API; "key" is a signing-key rotation through the API).
func AdminCategories() []string { return []string{"client", "user", "group", "session", "key"} }

// ActionCategory returns the category of action: the part before its
// first dot, or the whole action when it has none.
func ActionCategory(action string) string {
	c, _, _ := strings.Cut(action, ".")
	return c
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	// Actions keeps entries whose Action equals one of these, or whose
	// category (ActionCategory) does: "signin" keeps every sign-in event,
	// "signin.failed" only failed ones.
	Actions []string
	// Actor keeps entries whose Actor or ActorID equals it exactly.
	Actor string
	// Target keeps entries whose Target equals it exactly or, when it ends
	// in "*", starts with what comes before the "*" ("client:*").
	Target string
	// Since keeps entries at or after it; Until those strictly before it.
	// Both are compared at the stored precision (microseconds).
	Since, Until time.Time
	// Older keeps entries strictly after it in the newest-first order
	// (older, or as old with a smaller ID): the keyset cursor of the next
	// page. The zero cursor keeps everything.
	Older AuditCursor
}

// AuditCursor is the position of an entry in the newest-first order of
// ListAudit: its Time (at the stored precision) and ID.
type AuditCursor struct {
	Time time.Time
	ID   string
}

// IsZero reports whether the cursor is at the start.
func (c AuditCursor) IsZero() bool { return c.ID == "" && c.Time.IsZero() }

// TargetPrefix reports whether f.Target is a prefix ("client:*") and
// returns the target or prefix to compare with.
func (f AuditFilter) TargetPrefix() (target string, prefix bool) {
	if t, ok := strings.CutSuffix(f.Target, "*"); ok {
		return t, true
	}
	return f.Target, false
}

// Match reports whether e passes f. Stores that filter in memory use it;
// the others must agree with it.
func (f AuditFilter) Match(e *AuditEntry) bool {
	if len(f.Actions) > 0 && !slices.Contains(f.Actions, e.Action) && !slices.Contains(f.Actions, ActionCategory(e.Action)) {
		return false
	}
	if f.Actor != "" && e.Actor != f.Actor && e.ActorID != f.Actor {
		return false
	}
	if f.Target != "" {
		t, prefix := f.TargetPrefix()
		if prefix && !strings.HasPrefix(e.Target, t) || !prefix && e.Target != t {
			return false
		}
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if !f.Older.IsZero() && cmp.Or(f.Older.Time.Compare(e.Time), strings.Compare(f.Older.ID, e.ID)) <= 0 {
		return false
	}
	return f.Until.IsZero() || e.Time.Before(f.Until)
}

// AuditLog stores the audit trail. Entries are never changed or removed
// through this interface.
type AuditLog interface {
	// AppendAudit inserts e. ErrAlreadyExists if the ID is taken.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns up to limit entries that pass filter, newest
	// first (by Time, then by ID descending), skipping the first offset.
	ListAudit(ctx context.Context, filter AuditFilter, offset, limit int) ([]*AuditEntry, error)
}
