package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestRedeemAuthCodeReadsTheUser (issue #21): consuming a code is one
// round trip that also reads the request's user (AuthRequest.User), so
// the token endpoint does not read it again; a user deleted since the
// code was issued reads as nil (the caller then reads it, finds it gone
// and refuses), and the code is consumed and tombstoned all the same.
func TestRedeemAuthCodeReadsTheUser(t *testing.T) {
	counter := &postgres.RoundTripCounter{}
	s, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithTracer(counter))
	mustOK(t, err, "Open")
	t.Cleanup(s.Close)
	ctx := t.Context()
	seed(t, s)
	mustOK(t, s.CreateUser(ctx, &storage.User{ID: "u2", Username: "bob", CreatedAt: t0, UpdatedAt: t0}), "CreateUser")
	issue := func(id, userID string) string {
		t.Helper()
		r := &storage.AuthRequest{ID: id, ClientID: "c1", RedirectURI: "https://c1.test/cb", Scopes: []string{"openid"},
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		mustOK(t, s.CreateAuthRequest(ctx, r), "CreateAuthRequest")
		mustOK(t, s.AuthenticateAuthRequest(ctx, id, storage.AuthResult{UserID: userID, AuthTime: t0, AMR: []string{"pwd"}}),
			"AuthenticateAuthRequest")
		code := storage.HashToken("code-" + id)
		mustOK(t, s.IssueAuthCode(ctx, id, code, t0.Add(time.Minute)), "IssueAuthCode")
		return code
	}
	for _, tc := range []struct {
		name, userID string
		deleteUser   bool
	}{
		{name: "user read with the code", userID: "u1"},
		{name: "user deleted since", userID: "u2", deleteUser: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := issue("req-"+tc.userID, tc.userID)
			if tc.deleteUser {
				mustOK(t, s.DeleteUser(ctx, tc.userID), "DeleteUser")
			}
			counter.Reset()
			r, _, err := s.RedeemAuthCode(ctx, &storage.CodeRedemption{CodeHash: code, Now: t0.Add(time.Second), FamilyID: storage.NewID()})
			mustOK(t, err, "RedeemAuthCode")
			if n := counter.RoundTrips(); n != 1 {
				t.Errorf("RedeemAuthCode: %d round trips, want 1", n)
			}
			switch {
			case tc.deleteUser && r.User != nil:
				t.Errorf("User = %+v for a deleted user, want nil", r.User)
			case !tc.deleteUser && (r.User == nil || r.User.ID != tc.userID || r.User.Username != "alice" || r.User.PasswordHash != ""):
				t.Errorf("User = %+v, want alice's claims view", r.User)
			}
			var reused *storage.CodeReusedError
			if _, _, err := s.RedeemAuthCode(ctx, &storage.CodeRedemption{CodeHash: code, Now: t0.Add(2 * time.Second), FamilyID: storage.NewID()}); !errors.As(err, &reused) || reused.FamilyID != r.FamilyID {
				t.Errorf("second RedeemAuthCode = %v, want the tombstone of family %q", err, r.FamilyID)
			}
		})
	}
}
