package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// testGetRefreshGrant: the token comes back with its user and session,
// exactly as GetRefreshToken, GetUser and GetSession return them; a
// session or user that is gone is nil, not an error.
func testGetRefreshGrant(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateRefreshToken(ctx, newRefreshToken("with-session", "f1", sd.client.ID, sd.user.ID, sd.session.ID)), "CreateRefreshToken")
	mustOK(t, s.CreateRefreshToken(ctx, newRefreshToken("offline", "f2", sd.client.ID, sd.user2.ID, "session-gone")), "CreateRefreshToken")

	_, err := s.GetRefreshGrant(ctx, storage.HashToken("refresh-unknown"))
	wantErr(t, err, storage.ErrNotFound, "GetRefreshGrant(unknown)")

	for _, tc := range []struct {
		name, id    string
		wantUser    *storage.User
		wantSession *storage.Session
	}{
		{"session-bound", "with-session", sd.user, sd.session},
		{"session-gone", "offline", sd.user2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hash := storage.HashToken("refresh-" + tc.id)
			g, err := s.GetRefreshGrant(ctx, hash)
			mustOK(t, err, "GetRefreshGrant")
			assertEqual(t, "token", getRefresh(t, s, hash), g.Token)
			assertEqual(t, "user", tc.wantUser, g.User)
			assertEqual(t, "session", tc.wantSession, g.Session)
		})
	}
}

// testGetSessionWithUserActive: the session by its cookie hash, exactly
// as GetSessionByTokenHash returns it (revoked or not), and whether its
// user may still use it (exists and is not disabled).
func testGetSessionWithUserActive(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	_, _, err := s.GetSessionWithUserActive(ctx, storage.HashToken("session-unknown"))
	wantErr(t, err, storage.ErrNotFound, "GetSessionWithUserActive(unknown)")
	mustOK(t, s.RevokeSession(ctx, sd.session.ID, at(0)), "RevokeSession")
	ofDisabled := newSession("session-of-disabled", sd.user2.ID, at(-time.Hour))
	mustOK(t, s.CreateSession(ctx, ofDisabled), "CreateSession")
	_, err = s.UpdateUser(ctx, sd.user2.ID, func(u *storage.User) error { u.Disabled = true; return nil })
	mustOK(t, err, "UpdateUser(disabled)")
	for _, tc := range []struct {
		name   string
		ss     *storage.Session
		active bool
	}{
		{"revoked-session-of-enabled-user", sd.session, true},
		{"session-of-disabled-user", ofDisabled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, active, err := s.GetSessionWithUserActive(ctx, tc.ss.TokenHash)
			mustOK(t, err, "GetSessionWithUserActive")
			want, err := s.GetSessionByTokenHash(ctx, tc.ss.TokenHash)
			mustOK(t, err, "GetSessionByTokenHash")
			assertEqual(t, "session", want, ss)
			assertEqual(t, "user active", tc.active, active)
		})
	}
}

// testCreateSessionAuthRequest: the request and the session's client are
// stored together, or neither is.
func testCreateSessionAuthRequest(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	answered := func(id, clientID, sessionID string) *storage.AuthRequest {
		r := newAuthRequest(id, clientID)
		r.UserID, r.SessionID, r.AuthTime, r.AMR = sd.user.ID, sessionID, at(-time.Hour), []string{"pwd"}
		r.CodeHash, r.CodeExpiresAt = storage.HashToken("code-"+id), at(time.Minute)
		return r
	}
	for _, tc := range []struct {
		name        string
		req         *storage.AuthRequest
		wantErr     error
		wantClients []string
	}{
		{"stored-with-client", answered("r1", sd.client.ID, sd.session.ID), nil, []string{sd.client.ID}},
		{"second-client", answered("r2", sd.client2.ID, sd.session.ID), nil, []string{sd.client.ID, sd.client2.ID}},
		{"same-client-again", answered("r3", sd.client.ID, sd.session.ID), nil, []string{sd.client.ID, sd.client2.ID}},
		{"unknown-session", answered("r4", sd.client.ID, "no-such-session"), storage.ErrNotFound, nil},
		{"unknown-client", answered("r5", "no-such-client", sd.session.ID), storage.ErrNotFound, []string{sd.client.ID, sd.client2.ID}},
		{"taken-id", answered("r1", sd.client.ID, sd.session.ID), storage.ErrAlreadyExists, []string{sd.client.ID, sd.client2.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.CreateSessionAuthRequest(ctx, tc.req)
			if tc.wantErr != nil {
				wantErr(t, err, tc.wantErr, "CreateSessionAuthRequest")
			} else {
				mustOK(t, err, "CreateSessionAuthRequest")
				got, err := s.GetAuthRequest(ctx, tc.req.ID)
				mustOK(t, err, "GetAuthRequest")
				assertEqual(t, "stored request", tc.req, got)
			}
			if tc.wantClients != nil {
				got, err := s.ListSessionClients(ctx, tc.req.SessionID)
				mustOK(t, err, "ListSessionClients")
				assertStrings(t, "session clients", tc.wantClients, got)
			}
		})
	}
	// Nothing of a failed call is left behind.
	if _, err := s.GetAuthRequest(ctx, "r4"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("request of an unknown session stored: %v", err)
	}
	if _, err := s.GetAuthRequest(ctx, "r5"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("request of an unknown client stored: %v", err)
	}
}
