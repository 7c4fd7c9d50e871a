package op

import (
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestActiveClientToken checks the liveness of client_credentials access
// tokens (RFC 6749 §4.4, RFC 7662 §2.2): they have no user, so their
// client is checked instead: disabled, deleted, or no longer allowed the
// grant makes them inactive, as do the deny list and malformed claims.
func TestActiveClientToken(t *testing.T) {
	ctx := t.Context()
	f := newJWTFixture(t)
	now := f.p.now()
	store := memory.New()
	f.p.store = store
	for _, id := range []string{"machine", "disabled", "nogrant", "public"} {
		c := &storage.Client{ID: id, Name: id, AuthMethod: storage.AuthMethodBasic, ApplicationType: storage.ApplicationWeb,
			SecretHash: storage.HashToken("s"), GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"},
			Disabled: id == "disabled", CreatedAt: now, UpdatedAt: now}
		switch id {
		case "nogrant":
			c.GrantTypes, c.RedirectURIs = []string{"authorization_code"}, []string{"https://a.test/cb"}
		case "public":
			c.AuthMethod, c.SecretHash = storage.AuthMethodNone, ""
		}
		if err := store.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.RevokeAccessToken(ctx, "revoked-jti", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	token := func(t *testing.T, edit func(*accessTokenClaims)) string {
		t.Helper()
		at := accessTokenClaims{Issuer: checklistIssuer, Subject: "machine", Audience: []string{"machine"},
			Expiry: now.Add(5 * time.Minute).Unix(), IssuedAt: now.Unix(), JTI: storage.NewID(),
			ClientID: "machine", Scope: "api", GrantType: grantClientCredentials}
		edit(&at)
		tok, err := f.p.keys.Sign(jose.RS256, typAccessToken, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	as := func(id string) func(*accessTokenClaims) {
		return func(at *accessTokenClaims) { at.Subject, at.ClientID, at.Audience = id, id, []string{id} }
	}
	for _, tc := range []struct {
		name   string
		edit   func(*accessTokenClaims)
		active bool
	}{
		{name: "live", edit: func(*accessTokenClaims) {}, active: true},
		{name: "client disabled", edit: as("disabled")},
		{name: "client deleted", edit: as("gone")},
		{name: "client lost the grant", edit: as("nogrant")},
		{name: "client became public", edit: as("public")},
		{name: "revoked jti", edit: func(at *accessTokenClaims) { at.JTI = "revoked-jti" }},
		{name: "subject is not the client", edit: func(at *accessTokenClaims) { at.Subject = "someone" }},
		{name: "carries a session", edit: func(at *accessTokenClaims) { at.SID = "s1" }},
		{name: "carries a family", edit: func(at *accessTokenClaims) { at.FamilyID = "f1" }},
		{name: "unknown grant marker", edit: func(at *accessTokenClaims) { at.GrantType = "password" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, u, err := f.p.activeAccessToken(ctx, token(t, tc.edit))
			switch {
			case tc.active && err != nil:
				t.Fatalf("activeAccessToken: %v, want active", err)
			case tc.active && (at.Subject != "machine" || u != nil):
				t.Errorf("got subject %q user %v, want machine and no user", at.Subject, u)
			case !tc.active && !errors.Is(err, errTokenInactive):
				t.Errorf("activeAccessToken: %v, want errTokenInactive", err)
			}
		})
	}
}

// TestClientCredentialsScopes checks the scope rules of the grant
// (RFC 6749 §3.3): a subset of the client's scopes, no user scopes, no
// duplicates; none requested, none granted.
func TestClientCredentialsScopes(t *testing.T) {
	c := &storage.Client{Scopes: []string{"api:read", "api:write", "openid"}}
	for _, tc := range []struct {
		name      string
		requested []string
		want      []string
		err       bool
	}{
		{name: "none", requested: nil, want: []string{}},
		{name: "subset", requested: []string{"api:write"}, want: []string{"api:write"}},
		{name: "duplicate", requested: []string{"api:read", "api:read"}, want: []string{"api:read"}},
		{name: "unregistered", requested: []string{"api:admin"}, err: true},
		{name: "openid although registered", requested: []string{"openid"}, err: true},
		{name: "offline_access", requested: []string{"offline_access"}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := clientCredentialsScopes(c, tc.requested)
			if tc.err {
				if err == nil {
					t.Fatalf("got %v, want invalid_scope", got)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}
