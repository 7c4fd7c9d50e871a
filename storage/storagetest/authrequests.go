package storagetest

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func testAuthRequestLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)

	t.Run("RoundTrip", func(t *testing.T) {
		minimal := &storage.AuthRequest{
			ID:          "req-minimal",
			ClientID:    sd.client.ID,
			RedirectURI: "https://client-1.test/cb",
			Scopes:      []string{"openid"},
			CreatedAt:   at(0),
			ExpiresAt:   at(time.Minute),
		}
		zeroMaxAge := newAuthRequest("req-max-age-zero", sd.client.ID)
		zeroMaxAge.MaxAge = ptr(time.Duration(0))

		tests := []struct {
			name string
			req  *storage.AuthRequest
		}{
			{"every field set", newAuthRequest("req-full", sd.client.ID)},
			{"optional fields empty, MaxAge nil", minimal},
			{"MaxAge zero is not nil", zeroMaxAge},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.req
				mustOK(t, s.CreateAuthRequest(ctx, in), "CreateAuthRequest")
				want := deepCopy(in)
				scribble(in) // the store must not keep the caller's value

				got, err := s.GetAuthRequest(ctx, want.ID)
				mustOK(t, err, "GetAuthRequest")
				assertEqual(t, "GetAuthRequest", want, got)
				if got.Authenticated() {
					t.Errorf("new request is authenticated")
				}

				scribble(got)
				got, err = s.GetAuthRequest(ctx, want.ID)
				mustOK(t, err, "GetAuthRequest")
				assertEqual(t, "GetAuthRequest after mutating an earlier result", want, got)

				dup := newAuthRequest(want.ID, sd.client.ID)
				wantErr(t, s.CreateAuthRequest(ctx, dup), storage.ErrAlreadyExists, "CreateAuthRequest with a duplicate ID")
			})
		}
	})

	t.Run("AuthenticateIssueConsume", func(t *testing.T) {
		req := newAuthRequest("req-flow", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		want := deepCopy(req)

		res := storage.AuthResult{
			UserID:    sd.user.ID,
			SessionID: sd.session.ID,
			AuthTime:  at(-10 * time.Second),
			AMR:       []string{"pwd", "mfa"},
		}
		mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, res), "AuthenticateAuthRequest")
		scribble(&res)
		want.UserID, want.SessionID, want.AuthTime = sd.user.ID, sd.session.ID, at(-10*time.Second)
		want.AMR = []string{"pwd", "mfa"}
		got, err := s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest after authenticate")
		assertEqual(t, "authenticated request", want, got)
		scribble(got)
		got, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest after authenticate")
		assertEqual(t, "authenticated request after mutating an earlier result", want, got)
		if !got.Authenticated() {
			t.Errorf("request is not authenticated after AuthenticateAuthRequest")
		}

		// A second authentication (prompt=login on the same request)
		// replaces the first while no code was issued.
		res2 := storage.AuthResult{UserID: sd.user2.ID, AuthTime: at(-5 * time.Second), AMR: []string{"pwd"}}
		mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, res2), "AuthenticateAuthRequest again")
		want.UserID, want.SessionID, want.AuthTime, want.AMR = sd.user2.ID, "", at(-5*time.Second), []string{"pwd"}
		got, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest after second authenticate")
		assertEqual(t, "re-authenticated request", want, got)

		mustOK(t, s.SetAuthRequestConsent(ctx, req.ID, true), "SetAuthRequestConsent")
		want.ConsentGranted = true

		codeHash := storage.HashToken("code-flow")
		mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")
		want.CodeHash, want.CodeExpiresAt = codeHash, at(time.Minute)
		got, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest after IssueAuthCode")
		assertEqual(t, "request with a code", want, got)

		// Once a code is issued the request is frozen.
		wantErr(t, s.IssueAuthCode(ctx, req.ID, storage.HashToken("second code"), at(time.Hour)),
			storage.ErrConflict, "second IssueAuthCode")
		wantErr(t, s.AuthenticateAuthRequest(ctx, req.ID, res), storage.ErrConflict, "AuthenticateAuthRequest after code")
		wantErr(t, s.SetAuthRequestConsent(ctx, req.ID, false), storage.ErrConflict, "SetAuthRequestConsent after code")
		got, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest after rejected changes")
		assertEqual(t, "request after rejected changes", want, got)

		consumed, err := s.ConsumeAuthCode(ctx, codeHash, at(59*time.Second))
		mustOK(t, err, "ConsumeAuthCode")
		assertEqual(t, "ConsumeAuthCode result", want, consumed)

		_, err = s.GetAuthRequest(ctx, req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after consume")
		wantErr(t, s.DeleteAuthRequest(ctx, req.ID), storage.ErrNotFound, "DeleteAuthRequest after consume")
		wantErr(t, s.AuthenticateAuthRequest(ctx, req.ID, res), storage.ErrNotFound, "AuthenticateAuthRequest after consume")
		wantErr(t, s.IssueAuthCode(ctx, req.ID, storage.HashToken("late"), at(time.Hour)), storage.ErrNotFound, "IssueAuthCode after consume")
	})

	t.Run("EmptyCodeHashMatchesNothing", func(t *testing.T) {
		req := newAuthRequest("req-no-code", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		_, err := s.ConsumeAuthCode(ctx, "", at(0))
		wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode(\"\")")
		_, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest of a request without a code after ConsumeAuthCode(\"\")")
	})

	t.Run("Missing", func(t *testing.T) {
		const id = "no-such-request"
		_, err := s.GetAuthRequest(ctx, id)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest")
		wantErr(t, s.AuthenticateAuthRequest(ctx, id, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0)}),
			storage.ErrNotFound, "AuthenticateAuthRequest")
		wantErr(t, s.SetAuthRequestConsent(ctx, id, true), storage.ErrNotFound, "SetAuthRequestConsent")
		wantErr(t, s.IssueAuthCode(ctx, id, storage.HashToken("x"), at(time.Minute)), storage.ErrNotFound, "IssueAuthCode")
		wantErr(t, s.DeleteAuthRequest(ctx, id), storage.ErrNotFound, "DeleteAuthRequest")
		_, err = s.ConsumeAuthCode(ctx, storage.HashToken("unknown code"), at(0))
		wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode(unknown)")
	})

	t.Run("Delete", func(t *testing.T) {
		req := newAuthRequest("req-delete", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		codeHash := storage.HashToken("code-delete")
		mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")
		mustOK(t, s.DeleteAuthRequest(ctx, req.ID), "DeleteAuthRequest")
		_, err := s.GetAuthRequest(ctx, req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after delete")
		_, err = s.ConsumeAuthCode(ctx, codeHash, at(0))
		wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode after delete")
		wantErr(t, s.DeleteAuthRequest(ctx, req.ID), storage.ErrNotFound, "DeleteAuthRequest twice")
	})
}

func testAuthRequestConsent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	tests := []struct {
		name        string
		granted     bool
		wantGranted bool
		wantDenied  bool
	}{
		{"granted", true, true, false},
		{"denied", false, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newAuthRequest("req-consent-"+tc.name, sd.client.ID)
			mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
			mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{
				UserID: sd.user.ID, SessionID: sd.session.ID, AuthTime: at(0), AMR: []string{"pwd"},
			}), "AuthenticateAuthRequest")
			mustOK(t, s.SetAuthRequestConsent(ctx, req.ID, tc.granted), "SetAuthRequestConsent")
			got, err := s.GetAuthRequest(ctx, req.ID)
			mustOK(t, err, "GetAuthRequest")
			if got.ConsentGranted != tc.wantGranted || got.Denied != tc.wantDenied {
				t.Errorf("ConsentGranted, Denied = %v, %v; want %v, %v",
					got.ConsentGranted, got.Denied, tc.wantGranted, tc.wantDenied)
			}
			if got.UserID != sd.user.ID || got.SessionID != sd.session.ID {
				t.Errorf("SetAuthRequestConsent changed the authentication: user %q session %q", got.UserID, got.SessionID)
			}
		})
	}
}

func testAuthCodeSingleUse(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	req := newAuthRequest("req-single", sd.client.ID)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0)}), "AuthenticateAuthRequest")
	codeHash := storage.HashToken("code-single")
	mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")

	got, err := s.ConsumeAuthCode(ctx, codeHash, at(0))
	mustOK(t, err, "first ConsumeAuthCode")
	if got.ID != req.ID || got.UserID != sd.user.ID || got.CodeHash != codeHash {
		t.Errorf("ConsumeAuthCode returned request %q user %q code %q", got.ID, got.UserID, got.CodeHash)
	}
	for i := range 2 {
		_, err = s.ConsumeAuthCode(ctx, codeHash, at(time.Second))
		wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode replay %d", i+1)
	}
}

func testAuthCodeExpiry(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	past := time.Date(2001, time.February, 3, 4, 5, 6, 789000, time.UTC)
	future := time.Date(2101, time.February, 3, 4, 5, 6, 789000, time.UTC)
	tests := []struct {
		name      string
		expiresAt time.Time
		now       time.Time
		wantOK    bool
	}{
		{"one microsecond before expiry", at(time.Minute), at(time.Minute - time.Microsecond), true},
		{"at expiry", at(time.Minute), at(time.Minute), false},
		{"an hour after expiry", at(time.Minute), at(time.Hour), false},
		{"long ago but before its expiry (not the wall clock)", past, past.Add(-time.Second), true},
		{"far future after its expiry (not the wall clock)", future, future.Add(time.Second), false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := newAuthRequest("req-expiry-"+string(rune('a'+i)), sd.client.ID)
			req.CreatedAt, req.ExpiresAt = tc.expiresAt.Add(-time.Minute), tc.expiresAt.Add(time.Hour)
			mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
			codeHash := storage.HashToken("code-" + req.ID)
			mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, tc.expiresAt), "IssueAuthCode")

			got, err := s.ConsumeAuthCode(ctx, codeHash, tc.now)
			if tc.wantOK {
				mustOK(t, err, "ConsumeAuthCode")
				if got.ID != req.ID {
					t.Errorf("ConsumeAuthCode returned request %q, want %q", got.ID, req.ID)
				}
			} else {
				wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode of an expired code")
			}
			// Either way the code is gone, and so is its request.
			_, err = s.ConsumeAuthCode(ctx, codeHash, tc.expiresAt.Add(-time.Hour))
			wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode after the first attempt")
			_, err = s.GetAuthRequest(ctx, req.ID)
			wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after ConsumeAuthCode")
		})
	}
}

func testExpiredAuthRequestCleanup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	// now is long ago, so a store that compares with the wall clock deletes
	// everything.
	now := time.Date(2001, time.February, 3, 4, 5, 6, 789000, time.UTC)

	n, err := s.DeleteExpiredAuthRequests(ctx, now)
	mustOK(t, err, "DeleteExpiredAuthRequests on an empty store")
	if n != 0 {
		t.Errorf("DeleteExpiredAuthRequests on an empty store = %d, want 0", n)
	}

	tests := []struct {
		id        string
		expiresAt time.Time
		withCode  bool
		wantGone  bool
	}{
		{"expired-long-ago", now.Add(-24 * time.Hour), false, true},
		{"expired-just-now", now.Add(-time.Microsecond), false, true},
		{"expired-with-code", now.Add(-time.Minute), true, true},
		{"expires-exactly-now", now, false, false},
		{"live", now.Add(time.Microsecond), false, false},
		{"live-with-code", now.Add(time.Hour), true, false},
	}
	wantDeleted := 0
	for _, tc := range tests {
		req := newAuthRequest(tc.id, sd.client.ID)
		req.CreatedAt, req.ExpiresAt = tc.expiresAt.Add(-time.Hour), tc.expiresAt
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest(%s)", tc.id)
		if tc.withCode {
			mustOK(t, s.IssueAuthCode(ctx, tc.id, storage.HashToken("code-"+tc.id), tc.expiresAt), "IssueAuthCode(%s)", tc.id)
		}
		if tc.wantGone {
			wantDeleted++
		}
	}

	n, err = s.DeleteExpiredAuthRequests(ctx, now)
	mustOK(t, err, "DeleteExpiredAuthRequests")
	if n != wantDeleted {
		t.Errorf("DeleteExpiredAuthRequests = %d, want %d", n, wantDeleted)
	}
	for _, tc := range tests {
		_, err := s.GetAuthRequest(ctx, tc.id)
		if tc.wantGone {
			wantErr(t, err, storage.ErrNotFound, "GetAuthRequest(%s) after cleanup", tc.id)
		} else if err != nil {
			t.Errorf("GetAuthRequest(%s) after cleanup: %v; it had not expired", tc.id, err)
		}
	}
	_, err = s.ConsumeAuthCode(ctx, storage.HashToken("code-expired-with-code"), now.Add(-time.Hour))
	wantErr(t, err, storage.ErrNotFound, "ConsumeAuthCode of a cleaned-up request")

	n, err = s.DeleteExpiredAuthRequests(ctx, now)
	mustOK(t, err, "DeleteExpiredAuthRequests again")
	if n != 0 {
		t.Errorf("second DeleteExpiredAuthRequests = %d, want 0", n)
	}
}
