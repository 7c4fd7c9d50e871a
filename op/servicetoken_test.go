package op

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// TestVerifyServiceToken: only a live client_credentials token of an
// enabled confidential client passes, and its scopes are those the
// client still registers.
func TestVerifyServiceToken(t *testing.T) {
	ctx := t.Context()
	f := newJWTFixture(t)
	now := f.p.now()
	store := memory.New()
	f.p.store = store
	for _, id := range []string{"robot", "off"} {
		if err := store.CreateClient(ctx, &storage.Client{ID: id, Name: id, AuthMethod: storage.AuthMethodBasic,
			ApplicationType: storage.ApplicationWeb, SecretHash: storage.HashToken("s"), GrantTypes: []string{"client_credentials"},
			Scopes: []string{"admin:read"}, Disabled: id == "off", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	sign := func(t *testing.T, edit func(*accessTokenClaims)) string {
		t.Helper()
		at := accessTokenClaims{Issuer: checklistIssuer, Subject: "robot", Audience: []string{"robot"},
			Expiry: now.Add(5 * time.Minute).Unix(), IssuedAt: now.Unix(), JTI: storage.NewID(),
			ClientID: "robot", Scope: "admin:read admin:write", GrantType: grantClientCredentials}
		edit(&at)
		tok, err := f.p.keys.Sign(jose.RS256, typAccessToken, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name   string
		token  func(t *testing.T) string
		scopes []string // nil: inactive
	}{
		{"live, a scope taken away since", func(t *testing.T) string { return sign(t, func(*accessTokenClaims) {}) }, []string{"admin:read"}},
		{"a person's token", func(t *testing.T) string {
			return sign(t, func(at *accessTokenClaims) { at.GrantType, at.Subject = "", "user-1" })
		}, nil},
		{"disabled client", func(t *testing.T) string {
			return sign(t, func(at *accessTokenClaims) { at.Subject, at.ClientID = "off", "off" })
		}, nil},
		{"expired", func(t *testing.T) string {
			return sign(t, func(at *accessTokenClaims) { at.Expiry = now.Add(-time.Hour).Unix() })
		}, nil},
		{"not a JWT", func(*testing.T) string { return "garbage" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := f.p.VerifyServiceToken(ctx, tc.token(t))
			if tc.scopes == nil {
				if !errors.Is(err, ErrTokenInactive) {
					t.Fatalf("VerifyServiceToken: %v, want ErrTokenInactive", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.ClientID != "robot" || !slices.Equal(st.Scopes, tc.scopes) || st.JKT != "" {
				t.Errorf("got %+v, want robot with %v", st, tc.scopes)
			}
		})
	}
}
