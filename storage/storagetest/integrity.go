package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testReferencedRowsMustExist: a row that belongs to a user or a client
// cannot be created for one that does not exist (ErrNotFound, as a foreign
// key violation). Session IDs on refresh tokens and client IDs recorded on a
// session are not checked: offline tokens outlive their session, and logout
// must still find the clients a session served.
func testReferencedRowsMustExist(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	refresh := func(id, clientID, userID, sessionID string) *storage.RefreshToken {
		return newRefreshToken(id, "fam-"+id, clientID, userID, sessionID)
	}
	tests := []struct {
		name    string
		op      func() error
		wantErr error // nil: must succeed
	}{
		{"auth request of an unknown client", func() error {
			return s.CreateAuthRequest(ctx, newAuthRequest("req-x", "no-such-client"))
		}, storage.ErrNotFound},
		{"session of an unknown user", func() error {
			return s.CreateSession(ctx, newSession("sess-x", "no-such-user", at(0)))
		}, storage.ErrNotFound},
		{"consent of an unknown user", func() error {
			return s.SaveConsent(ctx, &storage.Consent{UserID: "no-such-user", ClientID: sd.client.ID, Scopes: []string{"openid"}, GrantedAt: at(0)})
		}, storage.ErrNotFound},
		{"consent for an unknown client", func() error {
			return s.SaveConsent(ctx, &storage.Consent{UserID: sd.user.ID, ClientID: "no-such-client", Scopes: []string{"openid"}, GrantedAt: at(0)})
		}, storage.ErrNotFound},
		{"refresh token of an unknown user", func() error {
			return s.CreateRefreshToken(ctx, refresh("rt-x1", sd.client.ID, "no-such-user", sd.session.ID))
		}, storage.ErrNotFound},
		{"refresh token for an unknown client", func() error {
			return s.CreateRefreshToken(ctx, refresh("rt-x2", "no-such-client", sd.user.ID, sd.session.ID))
		}, storage.ErrNotFound},
		{"refresh token of an unknown session", func() error {
			return s.CreateRefreshToken(ctx, refresh("rt-ok", sd.client.ID, sd.user.ID, "no-such-session"))
		}, nil},
		{"session client that is unknown", func() error {
			return s.AddSessionClient(ctx, sd.session.ID, "no-such-client")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if tc.wantErr == nil {
				mustOK(t, err, "create")
				return
			}
			wantErr(t, err, tc.wantErr, "create")
		})
	}
	_, err := s.GetAuthRequest(ctx, "req-x")
	wantErr(t, err, storage.ErrNotFound, "GetAuthRequest of a rejected request")
	_, err = s.GetSession(ctx, "sess-x")
	wantErr(t, err, storage.ErrNotFound, "GetSession of a rejected session")
	_, err = s.GetRefreshToken(ctx, refresh("rt-x1", "", "", "").TokenHash)
	wantErr(t, err, storage.ErrNotFound, "GetRefreshToken of a rejected token")
}

// testDeleteClientCascades: deleting a client deletes its pending
// authorization requests (and their codes, and the tombstones of its
// consumed codes), consents and refresh tokens, so
// a client registered again under the same ID inherits nothing. Sessions
// keep the record that they served it.
func testDeleteClientCascades(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	gone, kept := sd.client.ID, sd.client2.ID

	for _, c := range []string{gone, kept} {
		req := newAuthRequest("req-"+c, c)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		mustOK(t, s.IssueAuthCode(ctx, req.ID, storage.HashToken("code-"+c), at(time.Minute)), "IssueAuthCode")
		consumed := newAuthRequest("consumed-"+c, c)
		mustOK(t, s.CreateAuthRequest(ctx, consumed), "CreateAuthRequest")
		mustOK(t, s.IssueAuthCode(ctx, consumed.ID, storage.HashToken("consumed-"+c), at(time.Minute)), "IssueAuthCode")
		_, err := consumeCode(ctx, s, storage.HashToken("consumed-"+c), at(0))
		mustOK(t, err, "consumeCode")
		mustOK(t, s.SaveConsent(ctx, &storage.Consent{UserID: sd.user.ID, ClientID: c, Scopes: []string{"openid"}, GrantedAt: at(0)}), "SaveConsent")
		mustOK(t, s.CreateRefreshToken(ctx, newRefreshToken("rt-"+c, "fam-"+c, c, sd.user.ID, sd.session.ID)), "CreateRefreshToken")
		mustOK(t, s.AddSessionClient(ctx, sd.session.ID, c), "AddSessionClient")
	}
	mustOK(t, s.DeleteClient(ctx, gone), "DeleteClient")
	mustOK(t, s.CreateClient(ctx, newClient(gone)), "CreateClient again")

	tests := []struct {
		name string
		get  func(clientID string) error
	}{
		{"auth request", func(c string) error { _, err := s.GetAuthRequest(ctx, "req-"+c); return err }},
		{"auth code", func(c string) error {
			_, err := consumeCode(ctx, s, storage.HashToken("code-"+c), at(0))
			return err
		}},
		{"auth code tombstone", func(c string) error {
			_, err := consumeCode(ctx, s, storage.HashToken("consumed-"+c), at(0))
			if errors.Is(err, storage.ErrCodeReused) {
				return nil
			}
			return err
		}},
		{"consent", func(c string) error { _, err := s.GetConsent(ctx, sd.user.ID, c); return err }},
		{"refresh token", func(c string) error {
			_, err := s.GetRefreshToken(ctx, newRefreshToken("rt-"+c, "", "", "", "").TokenHash)
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, tc.get(gone), storage.ErrNotFound, "%s of the deleted client", tc.name)
			mustOK(t, tc.get(kept), "%s of another client", tc.name)
		})
	}
	// The token's ID is free again too.
	mustOK(t, s.CreateRefreshToken(ctx, newRefreshToken("rt-"+gone, "fam-new", gone, sd.user.ID, sd.session.ID)),
		"CreateRefreshToken reusing a deleted token's ID")
	ids, err := s.ListSessionClients(ctx, sd.session.ID)
	mustOK(t, err, "ListSessionClients")
	assertStrings(t, "session clients after DeleteClient", sorted([]string{gone, kept}), ids)
}

// testTimesUTCMicroseconds: every time comes back in UTC, truncated to
// microseconds (PostgreSQL's precision), whether it was a field of a stored
// value or an argument; and "now" is compared at that precision too.
func testTimesUTCMicroseconds(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	tokyo := time.FixedZone("JST", 9*60*60)
	fine := func(d time.Duration) time.Time { return at(d).Add(789 * time.Nanosecond).In(tokyo) } // sub-µs, not UTC
	check := func(t *testing.T, what string, got, want time.Time) {
		t.Helper()
		want = want.Truncate(time.Microsecond)
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v in UTC", what, got, got.Location(), want.UTC())
		}
	}

	u := newUser("user-times", "tina")
	u.CreatedAt, u.UpdatedAt = fine(0), fine(time.Hour)
	mustOK(t, s.CreateUser(ctx, u), "CreateUser")
	gu, err := s.GetUser(ctx, u.ID)
	mustOK(t, err, "GetUser")
	check(t, "User.CreatedAt", gu.CreatedAt, fine(0))
	check(t, "User.UpdatedAt", gu.UpdatedAt, fine(time.Hour))

	mustOK(t, s.TouchSession(ctx, sd.session.ID, fine(time.Minute)), "TouchSession")
	mustOK(t, s.RevokeSession(ctx, sd.session.ID, fine(2*time.Minute)), "RevokeSession")
	gs, err := s.GetSession(ctx, sd.session.ID)
	mustOK(t, err, "GetSession")
	check(t, "Session.LastSeenAt (argument)", gs.LastSeenAt, fine(time.Minute))
	check(t, "Session.RevokedAt (argument)", gs.RevokedAt, fine(2*time.Minute))

	rt := newRefreshToken("rt-times", "fam-times", sd.client.ID, sd.user.ID, sd.session.ID)
	rt.AuthTime = fine(-time.Hour)
	mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
	next, err := s.RotateRefreshToken(ctx, rt.TokenHash, successor("rt-times-2", fine(0)), fine(0), storage.ReuseGrace{})
	mustOK(t, err, "RotateRefreshToken")
	check(t, "successor CreatedAt", next.CreatedAt, fine(0))
	check(t, "successor AuthTime (copied)", next.AuthTime, fine(-time.Hour))
	got := getRefresh(t, s, rt.TokenHash)
	check(t, "RefreshToken.RotatedAt (argument)", got.RotatedAt, fine(0))

	// Expiry exactly at a microsecond, now 789ns after it: at microsecond
	// precision now equals the expiry, so the request has not expired
	// "before now".
	req := newAuthRequest("req-times", sd.client.ID)
	req.ExpiresAt = at(time.Hour)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	n, err := s.DeleteExpiredAuthRequests(ctx, at(time.Hour).Add(789*time.Nanosecond), 100)
	mustOK(t, err, "DeleteExpiredAuthRequests")
	if n != 0 {
		t.Errorf("DeleteExpiredAuthRequests(expiry + 789ns) = %d, want 0", n)
	}
}

// testSlicesNilVsEmpty: a nil slice comes back nil and an empty one empty.
func testSlicesNilVsEmpty(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	tests := []struct {
		name   string
		scopes []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"values", []string{"openid", "profile"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			same := func(what string, got []string) {
				t.Helper()
				if (got == nil) != (tc.scopes == nil) || !slices.Equal(got, tc.scopes) {
					t.Errorf("%s = %#v, want %#v", what, got, tc.scopes)
				}
			}
			c := newClient("client-" + tc.name)
			c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.Scopes = tc.scopes, tc.scopes, tc.scopes, tc.scopes
			mustOK(t, s.CreateClient(ctx, c), "CreateClient")
			gc, err := s.GetClient(ctx, c.ID)
			mustOK(t, err, "GetClient")
			same("Client.RedirectURIs", gc.RedirectURIs)
			same("Client.PostLogoutRedirectURIs", gc.PostLogoutRedirectURIs)
			same("Client.GrantTypes", gc.GrantTypes)
			same("Client.Scopes", gc.Scopes)

			r := newAuthRequest("req-"+tc.name, sd.client.ID)
			r.Scopes, r.Prompt = tc.scopes, tc.scopes
			mustOK(t, s.CreateAuthRequest(ctx, r), "CreateAuthRequest")
			mustOK(t, s.AuthenticateAuthRequest(ctx, r.ID, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0), AMR: tc.scopes}), "AuthenticateAuthRequest")
			gr, err := s.GetAuthRequest(ctx, r.ID)
			mustOK(t, err, "GetAuthRequest")
			same("AuthRequest.Scopes", gr.Scopes)
			same("AuthRequest.Prompt", gr.Prompt)
			same("AuthRequest.AMR", gr.AMR)

			ss := newSession("sess-"+tc.name, sd.user.ID, at(0))
			ss.AMR = tc.scopes
			mustOK(t, s.CreateSession(ctx, ss), "CreateSession")
			gs, err := s.GetSession(ctx, ss.ID)
			mustOK(t, err, "GetSession")
			same("Session.AMR", gs.AMR)

			rt := newRefreshToken("rt-"+tc.name, "fam-"+tc.name, sd.client.ID, sd.user.ID, sd.session.ID)
			rt.Scopes, rt.AMR = tc.scopes, tc.scopes
			mustOK(t, s.CreateRefreshToken(ctx, rt), "CreateRefreshToken")
			grt := getRefresh(t, s, rt.TokenHash)
			same("RefreshToken.Scopes", grt.Scopes)
			same("RefreshToken.AMR", grt.AMR)
			next, err := s.RotateRefreshToken(ctx, rt.TokenHash, successor("rt-next-"+tc.name, at(0)), at(0), storage.ReuseGrace{})
			mustOK(t, err, "RotateRefreshToken")
			same("successor Scopes (copied)", next.Scopes)
			same("successor AMR (copied)", next.AMR)
		})
	}
}
