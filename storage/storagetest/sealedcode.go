package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// newSealedFixture returns request id of sd.client, answered from
// session for userID with a code live until at(time.Minute), as a sealed
// code carries it (never stored), and the redemption that passes every
// check, with a refresh token to store.
func newSealedFixture(sd seed, id, userID, sessionID string) redeemFixture {
	req := newAuthRequest(id, sd.client.ID)
	req.UserID, req.SessionID, req.AuthTime, req.AMR = userID, sessionID, at(-10*time.Second), []string{"pwd", "otp"}
	req.CodeExpiresAt = at(time.Minute)
	red := passingRedemption(req, id, storage.HashToken("sealed-"+id))
	red.SessionIdle = time.Hour
	return redeemFixture{req: req, red: red}
}

// testRedeemSealedCode: RedeemSealedCode burns the code (its tombstone)
// whatever the checks say, and only when every check holds, the session
// included (a logout between the code's issue and its exchange wins),
// records the session's client and stores the family's first refresh
// token, filled from the request; a replay is ErrCodeReused naming the
// family and changes nothing (RFC 6749 §4.1.2).
func testRedeemSealedCode(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	type env struct {
		userID, sessionID string
	}
	tests := []struct {
		name string
		// change alters the redemption or the request, or the store
		// before it runs.
		change      func(t *testing.T, red *storage.CodeRedemption, req *storage.AuthRequest, e env)
		wantGranted bool
		wantUser    bool
		wantSession bool
	}{
		{name: "every check holds", wantGranted: true, wantUser: true, wantSession: true},
		{name: "no refresh token asked for", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.RefreshToken = nil
		}, wantGranted: true, wantUser: true, wantSession: true},
		{name: "no idle timeout", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.SessionIdle = 0
		}, wantGranted: true, wantUser: true, wantSession: true},
		{name: "another client", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.ClientID = sd.client2.ID
		}, wantUser: true, wantSession: true},
		{name: "another redirect_uri", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.RedirectURI += "/other"
		}, wantUser: true, wantSession: true},
		{name: "wrong verifier", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.CodeChallenge = "47DEQpj8HBSa-_TLtW6QPKjhmRjsHH5ayjbYsO0PV2w"
		}, wantUser: true, wantSession: true},
		{name: "no verifier for a code with a challenge", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.CodeChallenge = ""
		}, wantUser: true, wantSession: true},
		{name: "the DPoP proof's key is not the dpop_jkt", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.DPoPJKT = "47DEQpj8HBSa-_TLtW6QPKjhmRjsHH5ayjbYsO0PV2w"
		}, wantUser: true, wantSession: true},
		{name: "user disabled", change: func(t *testing.T, _ *storage.CodeRedemption, _ *storage.AuthRequest, e env) {
			_, err := s.UpdateUser(ctx, e.userID, func(u *storage.User) error { u.Disabled = true; return nil })
			mustOK(t, err, "UpdateUser")
		}, wantUser: true, wantSession: true},
		{name: "user deleted", change: func(t *testing.T, _ *storage.CodeRedemption, _ *storage.AuthRequest, e env) {
			mustOK(t, s.DeleteUser(ctx, e.userID), "DeleteUser") // the session goes with it
		}},
		{name: "session revoked (logout)", change: func(t *testing.T, _ *storage.CodeRedemption, _ *storage.AuthRequest, e env) {
			mustOK(t, s.RevokeSession(ctx, e.sessionID, at(20*time.Second)), "RevokeSession")
		}, wantUser: true, wantSession: true},
		{name: "every session of the user revoked (forced logout)", change: func(t *testing.T, _ *storage.CodeRedemption, _ *storage.AuthRequest, e env) {
			_, err := s.RevokeUserSessions(ctx, e.userID, at(20*time.Second))
			mustOK(t, err, "RevokeUserSessions")
		}, wantUser: true, wantSession: true},
		{name: "session gone", change: func(_ *testing.T, _ *storage.CodeRedemption, req *storage.AuthRequest, _ env) {
			req.SessionID = "no-such-session"
		}, wantUser: true},
		{name: "session of another user", change: func(_ *testing.T, _ *storage.CodeRedemption, req *storage.AuthRequest, _ env) {
			req.SessionID = sd.session.ID
		}, wantUser: true, wantSession: true},
		{name: "session past its expiry", change: func(_ *testing.T, red *storage.CodeRedemption, req *storage.AuthRequest, _ env) {
			red.Now = at(24 * time.Hour)
			req.CodeExpiresAt = red.Now.Add(time.Minute)
		}, wantUser: true, wantSession: true},
		{name: "session idle too long", change: func(_ *testing.T, red *storage.CodeRedemption, _ *storage.AuthRequest, _ env) {
			red.SessionIdle = time.Minute
		}, wantUser: true, wantSession: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(fmt.Sprintf("sealed-user-%d", i), fmt.Sprintf("sealer%d", i))
			mustOK(t, s.CreateUser(ctx, u), "CreateUser")
			sess := newSession(fmt.Sprintf("sealed-session-%d", i), u.ID, at(-30*time.Minute))
			mustOK(t, s.CreateSession(ctx, sess), "CreateSession")
			f := newSealedFixture(sd, fmt.Sprintf("req-sealed-%d", i), u.ID, sess.ID)
			asked := f.red.RefreshToken
			if tc.change != nil {
				tc.change(t, f.red, f.req, env{userID: u.ID, sessionID: sess.ID})
			}
			sentReq := deepCopy(f.req)
			got, err := s.RedeemSealedCode(ctx, f.red, f.req)
			mustOK(t, err, "RedeemSealedCode")
			assertEqual(t, "the request after RedeemSealedCode (the store keeps no part of it)", sentReq, f.req)
			if got.Granted != tc.wantGranted || got.Stored != (tc.wantGranted && f.red.RefreshToken != nil) {
				t.Errorf("RedeemSealedCode granted %v, stored %v; want %v, %v", got.Granted, got.Stored,
					tc.wantGranted, tc.wantGranted && f.red.RefreshToken != nil)
			}
			if (got.User != nil) != tc.wantUser {
				t.Errorf("RedeemSealedCode's user: %v, want one: %v", got.User, tc.wantUser)
			}
			if got.User != nil {
				wantU, err := s.GetUser(ctx, f.req.UserID)
				mustOK(t, err, "GetUser")
				assertEqual(t, "RedeemSealedCode's user", wantU.ClaimsView(), *got.User)
			}
			if (got.Session != nil) != tc.wantSession {
				t.Errorf("RedeemSealedCode's session: %v, want one: %v", got.Session, tc.wantSession)
			}
			if got.Session != nil {
				full, err := s.GetSession(ctx, f.req.SessionID)
				mustOK(t, err, "GetSession")
				want := &storage.Session{ID: full.ID, UserID: full.UserID, ExpiresAt: full.ExpiresAt,
					LastSeenAt: full.LastSeenAt, RevokedAt: full.RevokedAt}
				assertEqual(t, "RedeemSealedCode's session", want, got.Session)
			}
			rt, err := s.GetRefreshToken(ctx, asked.TokenHash)
			if !got.Stored {
				wantErr(t, err, storage.ErrNotFound, "GetRefreshToken without a grant")
			} else {
				mustOK(t, err, "GetRefreshToken")
				wantRT := deepCopy(f.red.RefreshToken)
				wantRT.FamilyID, wantRT.UserID, wantRT.SessionID = f.red.FamilyID, f.req.UserID, f.req.SessionID
				wantRT.Scopes, wantRT.AuthTime, wantRT.AMR, wantRT.Claims = f.req.Scopes, f.req.AuthTime, f.req.AMR, f.req.Claims
				assertEqual(t, "the stored refresh token", wantRT, rt)
			}
			if tc.wantSession {
				clients, err := s.ListSessionClients(ctx, f.req.SessionID)
				mustOK(t, err, "ListSessionClients")
				if slices.Contains(clients, f.req.ClientID) != tc.wantGranted {
					t.Errorf("the session's clients %v; want %q among them: %v", clients, f.req.ClientID, tc.wantGranted)
				}
			}
			// The code is burned whatever the checks said: a replay,
			// even one that would pass them, gets the first family.
			again := deepCopy(f.red)
			again.FamilyID, again.ClientID, again.RedirectURI = "family-again", f.req.ClientID, f.req.RedirectURI
			again.CodeChallenge, again.DPoPJKT, again.SessionIdle = f.req.CodeChallenge, f.req.DPoPJKT, 0
			if again.RefreshToken != nil {
				again.RefreshToken.ID, again.RefreshToken.TokenHash = "rt-again-"+f.req.ID, storage.HashToken("again-"+f.req.ID)
			}
			_, err = s.RedeemSealedCode(ctx, again, f.req)
			wantCodeReused(t, err, f.req, f.red.FamilyID, "second RedeemSealedCode")
			if again.RefreshToken != nil {
				_, err = s.GetRefreshToken(ctx, again.RefreshToken.TokenHash)
				wantErr(t, err, storage.ErrNotFound, "GetRefreshToken after a replay")
			}
		})
	}

	for _, tc := range []struct {
		name   string
		change func(red *storage.CodeRedemption, req *storage.AuthRequest)
	}{
		{"expired code", func(red *storage.CodeRedemption, _ *storage.AuthRequest) { red.Now = at(time.Minute) }},
		{"unknown client", func(_ *storage.CodeRedemption, req *storage.AuthRequest) { req.ClientID = "no-such-client" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newSealedFixture(sd, "req-sealed-"+tc.name, sd.user.ID, sd.session.ID)
			tc.change(f.red, f.req)
			_, err := s.RedeemSealedCode(ctx, f.red, f.req)
			wantErr(t, err, storage.ErrNotFound, "RedeemSealedCode")
			_, err = s.GetRefreshToken(ctx, f.red.RefreshToken.TokenHash)
			wantErr(t, err, storage.ErrNotFound, "GetRefreshToken")
			// No tombstone: the same code, live again, is redeemed.
			f = newSealedFixture(sd, "req-sealed-"+tc.name, sd.user.ID, sd.session.ID)
			f.red.SessionIdle = 0
			got, err := s.RedeemSealedCode(ctx, f.red, f.req)
			mustOK(t, err, "RedeemSealedCode after the refusal")
			if !got.Stored {
				t.Errorf("the code refused before was burned")
			}
		})
	}
}

// testSealedTombstoneGrace: a sealed code's tombstone outlives the code
// by storage.SealedCodeTombstoneGrace, so the cleanup run by a replica
// whose clock is ahead does not reopen the code to one whose clock lags.
func testSealedTombstoneGrace(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	f := newSealedFixture(sd, "req-sealed-grace", sd.user.ID, sd.session.ID)
	f.red.SessionIdle = 0
	_, err := s.RedeemSealedCode(ctx, f.red, f.req)
	mustOK(t, err, "RedeemSealedCode")
	_, err = s.DeleteExpiredAuthRequests(ctx, f.req.CodeExpiresAt.Add(storage.SealedCodeTombstoneGrace-time.Second), 1000)
	mustOK(t, err, "DeleteExpiredAuthRequests")
	again := deepCopy(f.red)
	again.FamilyID, again.Now = "family-late", f.req.CodeExpiresAt.Add(-time.Second) // a lagging clock
	again.RefreshToken.ID, again.RefreshToken.TokenHash = "rt-late", storage.HashToken("late")
	_, err = s.RedeemSealedCode(ctx, again, f.req)
	wantCodeReused(t, err, f.req, f.red.FamilyID, "RedeemSealedCode after the cleanup, within the grace")
	n, err := s.DeleteExpiredAuthRequests(ctx, f.req.CodeExpiresAt.Add(storage.SealedCodeTombstoneGrace+time.Second), 1000)
	mustOK(t, err, "DeleteExpiredAuthRequests")
	if n == 0 {
		t.Errorf("the cleanup after the grace removed nothing")
	}
}

// testConcurrentSealedRedeem: of concurrent redemptions of one sealed
// code, each with its own refresh token, exactly one wins, exactly one
// refresh token is stored (the winner's), and every loser sees the
// winner's tombstone.
func testConcurrentSealedRedeem(t *testing.T, s storage.Store) {
	sd := seedRows(t, s)
	f := newSealedFixture(sd, "req-sealed-race", sd.user.ID, sd.session.ID)
	f.red.SessionIdle = 0
	raceRedemptions(t, s, "RedeemSealedCode", f.req, f.red, func(red *storage.CodeRedemption) (bool, error) {
		got, err := s.RedeemSealedCode(t.Context(), red, deepCopy(f.req))
		return err == nil && got.Stored, err
	})
}
