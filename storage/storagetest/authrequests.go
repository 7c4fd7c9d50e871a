package storagetest

import (
	"errors"
	"fmt"
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

		consumed, err := consumeCode(ctx, s, codeHash, at(59*time.Second))
		mustOK(t, err, "consumeCode")
		if consumed.FamilyID == "" {
			t.Errorf("consumeCode returned no FamilyID")
		}
		want.FamilyID = consumed.FamilyID
		if consumed.User != nil { // optional: read with the code, as GetUser would, for tokens
			u, err := s.GetUser(ctx, sd.user2.ID)
			mustOK(t, err, "GetUser of the consumed request")
			assertEqual(t, "consumeCode's user", u.ClaimsView(), *consumed.User)
			consumed.User = nil
		}
		assertEqual(t, "consumeCode result", want, consumed)

		_, err = s.GetAuthRequest(ctx, req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after consume")
		wantErr(t, s.DeleteAuthRequest(ctx, req.ID), storage.ErrNotFound, "DeleteAuthRequest after consume")
		wantErr(t, s.AuthenticateAuthRequest(ctx, req.ID, res), storage.ErrNotFound, "AuthenticateAuthRequest after consume")
		wantErr(t, s.IssueAuthCode(ctx, req.ID, storage.HashToken("late"), at(time.Hour)), storage.ErrNotFound, "IssueAuthCode after consume")
	})

	t.Run("EmptyCodeHashMatchesNothing", func(t *testing.T) {
		req := newAuthRequest("req-no-code", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		_, err := consumeCode(ctx, s, "", at(0))
		wantErr(t, err, storage.ErrNotFound, "consumeCode(\"\")")
		_, err = s.GetAuthRequest(ctx, req.ID)
		mustOK(t, err, "GetAuthRequest of a request without a code after consumeCode(\"\")")
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
		_, err = consumeCode(ctx, s, storage.HashToken("unknown code"), at(0))
		wantErr(t, err, storage.ErrNotFound, "consumeCode(unknown)")
	})

	t.Run("Delete", func(t *testing.T) {
		req := newAuthRequest("req-delete", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
		codeHash := storage.HashToken("code-delete")
		mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")
		mustOK(t, s.DeleteAuthRequest(ctx, req.ID), "DeleteAuthRequest")
		_, err := s.GetAuthRequest(ctx, req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after delete")
		_, err = consumeCode(ctx, s, codeHash, at(0))
		wantErr(t, err, storage.ErrNotFound, "consumeCode after delete")
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

// wantCodeReused fails the test unless err is the *CodeReusedError of a
// replayed code of request req with the family its first consume started
// (RFC 6749 §4.1.2).
func wantCodeReused(t *testing.T, err error, req *storage.AuthRequest, familyID, format string, args ...any) {
	t.Helper()
	var reused *storage.CodeReusedError
	if !errors.As(err, &reused) || !errors.Is(err, storage.ErrCodeReused) {
		t.Errorf("%s: got error %v, want a *CodeReusedError wrapping %v", fmt.Sprintf(format, args...), err, storage.ErrCodeReused)
		return
	}
	if reused.RequestID != req.ID || reused.ClientID != req.ClientID || reused.FamilyID != familyID {
		t.Errorf("%s: reuse of request %q client %q family %q, want %q %q %q", fmt.Sprintf(format, args...),
			reused.RequestID, reused.ClientID, reused.FamilyID, req.ID, req.ClientID, familyID)
	}
}

// testAuthCodeSingleUse: a code is consumed once; every replay is
// ErrCodeReused naming the request, its client and the family the first
// consume started, so the caller can revoke it (RFC 6749 §4.1.2), and the
// consumed request stays invisible to the other methods.
func testAuthCodeSingleUse(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	req := newAuthRequest("req-single", sd.client.ID)
	mustOK(t, s.CreateAuthRequest(ctx, req), "CreateAuthRequest")
	mustOK(t, s.AuthenticateAuthRequest(ctx, req.ID, storage.AuthResult{UserID: sd.user.ID, AuthTime: at(0)}), "AuthenticateAuthRequest")
	codeHash := storage.HashToken("code-single")
	mustOK(t, s.IssueAuthCode(ctx, req.ID, codeHash, at(time.Minute)), "IssueAuthCode")

	got, err := consumeCode(ctx, s, codeHash, at(0))
	mustOK(t, err, "first consumeCode")
	if got.ID != req.ID || got.UserID != sd.user.ID || got.CodeHash != codeHash || got.FamilyID == "" {
		t.Errorf("consumeCode returned request %q user %q code %q family %q", got.ID, got.UserID, got.CodeHash, got.FamilyID)
	}
	t.Run("replay returns ErrCodeReused with the same family", func(t *testing.T) {
		for i := range 2 {
			_, err := consumeCode(ctx, s, codeHash, at(time.Second))
			wantCodeReused(t, err, req, got.FamilyID, "consumeCode replay %d", i+1)
			if errors.Is(err, storage.ErrNotFound) {
				t.Errorf("consumeCode replay %d also wraps ErrNotFound: %v", i+1, err)
			}
		}
	})
	t.Run("replay after the code expired, before cleanup", func(t *testing.T) {
		_, err := consumeCode(ctx, s, codeHash, at(time.Hour))
		wantCodeReused(t, err, req, got.FamilyID, "consumeCode replay after expiry")
	})
	t.Run("tombstone is not a request", func(t *testing.T) {
		_, err := s.GetAuthRequest(ctx, req.ID)
		wantErr(t, err, storage.ErrNotFound, "GetAuthRequest of a consumed request")
		wantErr(t, s.DeleteAuthRequest(ctx, req.ID), storage.ErrNotFound, "DeleteAuthRequest of a consumed request")
		wantErr(t, s.IssueAuthCode(ctx, req.ID, storage.HashToken("again"), at(time.Hour)), storage.ErrNotFound, "IssueAuthCode of a consumed request")
	})
	t.Run("each consume starts its own family", func(t *testing.T) {
		other := newAuthRequest("req-single-2", sd.client.ID)
		mustOK(t, s.CreateAuthRequest(ctx, other), "CreateAuthRequest")
		mustOK(t, s.IssueAuthCode(ctx, other.ID, storage.HashToken("code-single-2"), at(time.Minute)), "IssueAuthCode")
		got2, err := consumeCode(ctx, s, storage.HashToken("code-single-2"), at(0))
		mustOK(t, err, "consumeCode of another code")
		if got2.FamilyID == "" || got2.FamilyID == got.FamilyID {
			t.Errorf("second code's family %q, first %q; want a new one", got2.FamilyID, got.FamilyID)
		}
	})
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

			got, err := consumeCode(ctx, s, codeHash, tc.now)
			_, again := consumeCode(ctx, s, codeHash, tc.expiresAt.Add(-time.Hour))
			if tc.wantOK {
				mustOK(t, err, "consumeCode")
				if got.ID != req.ID {
					t.Errorf("consumeCode returned request %q, want %q", got.ID, req.ID)
				}
				// A consumed code leaves a tombstone: the next use is a replay.
				wantCodeReused(t, again, req, got.FamilyID, "consumeCode after the first attempt")
			} else {
				// An expired code is removed without a tombstone: nothing
				// was issued based on it, so there is nothing to revoke.
				wantErr(t, err, storage.ErrNotFound, "consumeCode of an expired code")
				wantErr(t, again, storage.ErrNotFound, "consumeCode after the first attempt")
			}
			// Either way the request is gone.
			_, err = s.GetAuthRequest(ctx, req.ID)
			wantErr(t, err, storage.ErrNotFound, "GetAuthRequest after consumeCode")
		})
	}
}

func testExpiredAuthRequestCleanup(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	// now is long ago, so a store that compares with the wall clock deletes
	// everything.
	now := time.Date(2001, time.February, 3, 4, 5, 6, 789000, time.UTC)

	n, err := s.DeleteExpiredAuthRequests(ctx, now, 100)
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

	n, err = s.DeleteExpiredAuthRequests(ctx, now, 100)
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
	_, err = consumeCode(ctx, s, storage.HashToken("code-expired-with-code"), now.Add(-time.Hour))
	wantErr(t, err, storage.ErrNotFound, "consumeCode of a cleaned-up request")

	n, err = s.DeleteExpiredAuthRequests(ctx, now, 100)
	mustOK(t, err, "DeleteExpiredAuthRequests again")
	if n != 0 {
		t.Errorf("second DeleteExpiredAuthRequests = %d, want 0", n)
	}

	// A code's tombstone lives until the code's expiry, however long its
	// request would have lived.
	t.Run("tombstone cleanup", func(t *testing.T) {
		codeHash := storage.HashToken("code-live-with-code")
		codeExp := now.Add(time.Hour)
		got, err := consumeCode(ctx, s, codeHash, now)
		mustOK(t, err, "consumeCode(live-with-code)")
		req := &storage.AuthRequest{ID: "live-with-code", ClientID: sd.client.ID}
		for _, step := range []struct {
			cleanAt time.Time
			want    int
		}{
			{now, 0},
			{codeExp, 2}, // requests expires-exactly-now and live; the code expires at, not before, codeExp
		} {
			n, err := s.DeleteExpiredAuthRequests(ctx, step.cleanAt, 100)
			mustOK(t, err, "DeleteExpiredAuthRequests at %s", step.cleanAt)
			if n != step.want {
				t.Errorf("DeleteExpiredAuthRequests at %s = %d, want %d", step.cleanAt, n, step.want)
			}
			_, err = consumeCode(ctx, s, codeHash, now)
			wantCodeReused(t, err, req, got.FamilyID, "replay after cleanup at %s", step.cleanAt)
		}
		n, err := s.DeleteExpiredAuthRequests(ctx, codeExp.Add(time.Microsecond), 100)
		mustOK(t, err, "DeleteExpiredAuthRequests after the code's expiry")
		if n != 1 {
			t.Errorf("DeleteExpiredAuthRequests after the code's expiry = %d, want 1 (the tombstone)", n)
		}
		_, err = consumeCode(ctx, s, codeHash, now)
		wantErr(t, err, storage.ErrNotFound, "replay after the tombstone was cleaned up")
	})
}
