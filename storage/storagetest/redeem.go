package storagetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// redeemFixture is an authenticated authorization request with a live
// code, and the redemption that passes every check.
type redeemFixture struct {
	req *storage.AuthRequest
	red *storage.CodeRedemption
}

// newRedeemFixture stores request id of sd.client for userID, signed in
// with a session of its own ("session-"+id, live), issues its code and
// returns the redemption that passes every check, with a refresh token to
// store.
func newRedeemFixture(t *testing.T, s storage.Store, sd seed, id, userID string) redeemFixture {
	t.Helper()
	ctx := t.Context()
	sess := newSession("session-"+id, userID, at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, sess), "CreateSession")
	req := newAuthRequest(id, sd.client.ID)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: userID, SessionID: sess.ID,
		AuthTime: at(-10 * time.Second), AMR: []string{"pwd", "otp"}}), "AuthenticateAuthRequest")
	codeHash := storage.HashToken("code-" + id)
	mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")
	req, err := s.GetAuthRequest(ctx, req.ID)
	mustOK(t, err, "GetAuthRequest")
	return redeemFixture{req: req, red: passingRedemption(req, id, codeHash)}
}

// passingRedemption is the redemption of req's code (codeHash) that passes
// every check, 30 s into the code's life, with a refresh token to store;
// id names its family and token.
func passingRedemption(req *storage.AuthRequest, id, codeHash string) *storage.CodeRedemption {
	return &storage.CodeRedemption{
		CodeHash: codeHash, Now: at(30 * time.Second), FamilyID: "family-" + id,
		ClientID: req.ClientID, RedirectURI: req.RedirectURI, CodeChallenge: req.CodeChallenge, DPoPJKT: req.DPoPJKT,
		RefreshToken: &storage.RefreshToken{
			ID: "rt-" + id, TokenHash: storage.HashToken("refresh-" + id), ClientID: req.ClientID,
			CreatedAt: at(30 * time.Second), ExpiresAt: at(24 * time.Hour), FamilyExpiresAt: at(30 * 24 * time.Hour),
			DPoPJKT: "jkt-" + id,
		},
	}
}

// testRedeemAuthCode: RedeemAuthCode consumes the code whatever the
// checks say, and stores the family's first refresh token, filled from
// the request, only when every check holds (RFC 6749 §4.1.3, RFC 7636
// §4.6), the request's session still live among them (a logout marks it
// revoked and leaves the request); a replay is ErrCodeReused naming the
// family either way (RFC 6749 §4.1.2).
func testRedeemAuthCode(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	tests := []struct {
		name string
		// change alters the redemption, or the store before it runs.
		change     func(t *testing.T, red *storage.CodeRedemption, userID string)
		wantStored bool
		wantUser   bool
		// wantRevoked: the session returned is marked revoked;
		// noSession: none is returned (the user's deletion took it).
		wantRevoked, noSession bool
	}{
		{name: "every check holds", change: func(*testing.T, *storage.CodeRedemption, string) {}, wantStored: true, wantUser: true},
		{name: "no refresh token asked for", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.RefreshToken = nil
		}, wantUser: true},
		{name: "another client", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.ClientID = sd.client2.ID
		}, wantUser: true},
		{name: "another redirect_uri", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.RedirectURI += "/other"
		}, wantUser: true},
		{name: "wrong verifier", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.CodeChallenge = "47DEQpj8HBSa-_TLtW6QPKjhmRjsHH5ayjbYsO0PV2w"
		}, wantUser: true},
		{name: "no verifier for a code with a challenge", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.CodeChallenge = ""
		}, wantUser: true},
		{name: "malformed verifier", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.CodeChallenge = "!"
		}, wantUser: true},
		{name: "the DPoP proof's key is not the dpop_jkt", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.DPoPJKT = "47DEQpj8HBSa-_TLtW6QPKjhmRjsHH5ayjbYsO0PV2w"
		}, wantUser: true},
		{name: "no DPoP proof for a code bound by dpop_jkt", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.DPoPJKT = ""
		}, wantUser: true},
		{name: "user disabled", change: func(t *testing.T, _ *storage.CodeRedemption, userID string) {
			_, err := s.UpdateUser(ctx, userID, func(u *storage.User) error { u.Disabled = true; return nil })
			mustOK(t, err, "UpdateUser")
		}, wantUser: true},
		{name: "user deleted", change: func(t *testing.T, _ *storage.CodeRedemption, userID string) {
			mustOK(t, s.DeleteUser(ctx, userID), "DeleteUser")
		}, noSession: true},
		{name: "session logged out", change: func(t *testing.T, red *storage.CodeRedemption, userID string) {
			mustOK(t, s.RevokeSession(ctx, sessionOf(red), at(0)), "RevokeSession")
		}, wantUser: true, wantRevoked: true},
		{name: "every session of the user revoked", change: func(t *testing.T, _ *storage.CodeRedemption, userID string) {
			_, err := s.RevokeUserSessions(ctx, userID, at(0))
			mustOK(t, err, "RevokeUserSessions")
		}, wantUser: true, wantRevoked: true},
		{name: "session idle past the timeout", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.SessionIdle = time.Hour / 2 // last seen at -59 min, now +30 s
		}, wantUser: true},
		{name: "session live within the idle timeout", change: func(_ *testing.T, red *storage.CodeRedemption, _ string) {
			red.SessionIdle = 2 * time.Hour
		}, wantStored: true, wantUser: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(fmt.Sprintf("redeem-user-%d", i), fmt.Sprintf("redeemer%d", i))
			mustOK(t, s.CreateUser(ctx, u), "CreateUser")
			f := newRedeemFixture(t, s, sd, fmt.Sprintf("req-redeem-%d", i), u.ID)
			asked := f.red.RefreshToken
			if asked == nil {
				asked = &storage.RefreshToken{TokenHash: storage.HashToken("refresh-" + f.req.ID)}
			}
			tc.change(t, f.red, u.ID)
			got, stored, err := s.RedeemAuthCode(ctx, f.red)
			mustOK(t, err, "RedeemAuthCode")
			if stored != tc.wantStored {
				t.Errorf("RedeemAuthCode stored a refresh token: %v, want %v", stored, tc.wantStored)
			}
			if (got.User != nil) != tc.wantUser {
				t.Errorf("RedeemAuthCode's user: %v, want one: %v", got.User, tc.wantUser)
			}
			if got.User != nil {
				wantU, err := s.GetUser(ctx, u.ID)
				mustOK(t, err, "GetUser")
				assertEqual(t, "RedeemAuthCode's user", wantU.ClaimsView(), *got.User)
			}
			if tc.noSession && got.Session != nil || !tc.noSession && (got.Session == nil || got.Session.ID != f.req.SessionID ||
				got.Session.UserID != u.ID || got.Session.RevokedAt.IsZero() == tc.wantRevoked) {
				t.Errorf("RedeemAuthCode's session: %+v, want %q of %q, revoked: %v", got.Session, f.req.SessionID, u.ID, tc.wantRevoked)
			}
			want := deepCopy(f.req)
			want.FamilyID, got.User, got.Session = f.red.FamilyID, nil, nil
			assertEqual(t, "RedeemAuthCode's request", want, got)

			rt, err := s.GetRefreshToken(ctx, asked.TokenHash)
			if !tc.wantStored {
				wantErr(t, err, storage.ErrNotFound, "GetRefreshToken after a failed check")
			} else {
				mustOK(t, err, "GetRefreshToken")
				wantRT := deepCopy(f.red.RefreshToken)
				wantRT.FamilyID, wantRT.UserID, wantRT.SessionID = f.red.FamilyID, u.ID, f.req.SessionID
				wantRT.Scopes, wantRT.AuthTime, wantRT.AMR, wantRT.Claims = f.req.Scopes, f.req.AuthTime, f.req.AMR, f.req.Claims
				assertEqual(t, "the stored refresh token", wantRT, rt)
			}
			// The code is burned whatever the checks said.
			_, err = s.GetAuthRequest(ctx, f.req.ID)
			wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after RedeemAuthCode")
			again := deepCopy(f.red)
			if again.RefreshToken != nil {
				again.RefreshToken.ID, again.RefreshToken.TokenHash = "rt-again-"+f.req.ID, storage.HashToken("again-"+f.req.ID)
			}
			_, stored, err = s.RedeemAuthCode(ctx, again)
			wantCodeReused(t, err, f.req, f.red.FamilyID, "second RedeemAuthCode")
			if stored {
				t.Errorf("a replay stored a refresh token")
			}
		})
	}

	t.Run("expired code", func(t *testing.T) {
		f := newRedeemFixture(t, s, sd, "req-redeem-expired", sd.user.ID)
		f.red.Now = at(time.Minute)
		_, stored, err := s.RedeemAuthCode(ctx, f.red)
		wantErr(t, err, storage.ErrNotFound, "RedeemAuthCode of an expired code")
		if stored {
			t.Errorf("an expired code stored a refresh token")
		}
		_, err = s.GetRefreshToken(ctx, f.red.RefreshToken.TokenHash)
		wantErr(t, err, storage.ErrNotFound, "GetRefreshToken after an expired code")
		_, err = s.GetAuthRequest(ctx, f.req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after an expired code")
		_, _, err = s.RedeemAuthCode(ctx, f.red)
		wantErr(t, err, storage.ErrNotFound, "RedeemAuthCode of an expired code again (no tombstone)")
	})
}

// testConcurrentCodeRedeem: of concurrent redemptions of one code, each
// with its own refresh token, exactly one wins, exactly one refresh token
// is stored (the winner's), and every loser sees the winner's tombstone.
func testConcurrentCodeRedeem(t *testing.T, s storage.Store) {
	sd := seedRows(t, s)
	f := newRedeemFixture(t, s, sd, "req-redeem-race", sd.user.ID)
	raceRedemptions(t, s, "RedeemAuthCode", f.req, f.red, func(red *storage.CodeRedemption) (bool, error) {
		_, stored, err := s.RedeemAuthCode(t.Context(), red)
		return stored, err
	})
}

// raceRedemptions runs 50 concurrent redemptions (redeem, named name)
// of req's code, each a copy of red with its own family and refresh
// token, and checks that exactly one wins and stores its token and every
// loser gets the winner's tombstone and stores nothing.
func raceRedemptions(t *testing.T, s storage.Store, name string, req *storage.AuthRequest, red *storage.CodeRedemption,
	redeem func(*storage.CodeRedemption) (stored bool, err error)) {
	t.Helper()
	const n = 50
	reds := make([]*storage.CodeRedemption, n)
	stored := make([]bool, n)
	errs := race(n, func(i int) error {
		r := deepCopy(red)
		r.FamilyID = fmt.Sprintf("family-%d", i)
		r.RefreshToken.ID, r.RefreshToken.TokenHash = fmt.Sprintf("rt-race-%d", i), storage.HashToken(fmt.Sprintf("race-%d-%s", i, req.ID))
		reds[i] = r
		var err error
		stored[i], err = redeem(r)
		return err
	})
	ok, counts := tally(t, name, errs, storage.ErrCodeReused)
	if ok != 1 || counts[storage.ErrCodeReused] != n-1 {
		t.Fatalf("%d concurrent %s: %d succeeded and %d got ErrCodeReused; want 1 and %d",
			n, name, ok, counts[storage.ErrCodeReused], n-1)
	}
	winner := -1
	for i, err := range errs {
		if err == nil {
			winner = i
		}
	}
	if !stored[winner] {
		t.Errorf("the winner stored no refresh token")
	}
	for i, r := range reds {
		if i != winner {
			wantCodeReused(t, errs[i], req, reds[winner].FamilyID, "loser %d", i)
			if stored[i] {
				t.Errorf("loser %d stored a refresh token", i)
			}
		}
		_, err := s.GetRefreshToken(t.Context(), r.RefreshToken.TokenHash)
		if i == winner {
			mustOK(t, err, "GetRefreshToken of the winner's token")
		} else {
			wantErr(t, err, storage.ErrNotFound, "GetRefreshToken of loser %d's token", i)
		}
	}
}

// sessionOf is the session newRedeemFixture signed the request of red in.
func sessionOf(red *storage.CodeRedemption) string {
	return "session-" + strings.TrimPrefix(red.FamilyID, "family-")
}
