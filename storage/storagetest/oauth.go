package storagetest

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// oauthTests pin the device flow, client assertion and PAR stores (issue 19).
var oauthTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store)
}{
	{"DeviceAuthorizationLifecycle", testDeviceAuthorizationLifecycle},
	{"DevicePollSlowDown", testDevicePollSlowDown},
	{"DeviceAuthorizationUnique", testDeviceAuthorizationUnique},
	{"ConcurrentDevicePoll", testConcurrentDevicePoll},
	{"ClientAssertionReplay", testClientAssertionReplay},
	{"PushedRequestSingleUse", testPushedRequestSingleUse},
	{"OAuthRowsDeletedWithClient", testOAuthRowsDeletedWithClient},
}

func newDevice(id, clientID string) *storage.DeviceAuthorization {
	return &storage.DeviceAuthorization{
		ID: id, DeviceCodeHash: storage.HashToken("device-" + id), UserCode: "BCDF" + id[len(id)-4:],
		ClientID: clientID, Scopes: []string{"openid", "offline_access"},
		CreatedAt: at(0), ExpiresAt: at(10 * time.Minute), Interval: 5 * time.Second, Status: storage.DevicePending,
	}
}

// testDeviceAuthorizationLifecycle: pending until answered, approved once,
// the tokens issued once, then spent; expired ones are invisible to the
// user-code page and answer expired_token.
func testDeviceAuthorizationLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	d := newDevice("dev-0001", sd.client.ID)
	mustOK(t, s.CreateDeviceAuthorization(ctx, d, at(0)), "CreateDeviceAuthorization")
	got, err := s.GetDeviceAuthorizationByUserCode(ctx, d.UserCode, at(time.Second))
	mustOK(t, err, "GetDeviceAuthorizationByUserCode")
	assertEqual(t, "device authorization", d, got)
	_, err = s.GetDeviceAuthorizationByUserCode(ctx, d.UserCode, at(10*time.Minute))
	wantErr(t, err, storage.ErrNotFound, "user code at expiry")
	_, err = s.GetDeviceAuthorizationByUserCode(ctx, "ZZZZZZZZ", at(0))
	wantErr(t, err, storage.ErrNotFound, "unknown user code")

	steps := []struct {
		name string
		now  time.Time
		want storage.DevicePoll
	}{
		{"first-poll-pending", at(time.Second), storage.PollPending},
		{"on-time-pending", at(6 * time.Second), storage.PollPending},
	}
	for _, st := range steps {
		_, res, err := s.PollDeviceAuthorization(ctx, sd.client.ID, d.DeviceCodeHash, st.now)
		mustOK(t, err, "poll %s", st.name)
		if res != st.want {
			t.Errorf("%s: poll = %d, want %d", st.name, res, st.want)
		}
	}
	dec := storage.DeviceDecision{Approved: true, UserID: sd.user.ID, SessionID: sd.session.ID, AuthTime: at(-time.Hour), AMR: []string{"pwd"}}
	wantErr(t, s.DecideDeviceAuthorization(ctx, d.ID, dec, at(10*time.Minute)), storage.ErrNotFound, "decide after expiry")
	wantErr(t, s.DecideDeviceAuthorization(ctx, "nope", dec, at(time.Second)), storage.ErrNotFound, "decide unknown")
	mustOK(t, s.DecideDeviceAuthorization(ctx, d.ID, dec, at(7*time.Second)), "DecideDeviceAuthorization")
	wantErr(t, s.DecideDeviceAuthorization(ctx, d.ID, storage.DeviceDecision{}, at(8*time.Second)), storage.ErrConflict, "decide twice")
	_, err = s.GetDeviceAuthorizationByUserCode(ctx, d.UserCode, at(8*time.Second))
	wantErr(t, err, storage.ErrNotFound, "user code once answered")

	got, res, err := s.PollDeviceAuthorization(ctx, sd.client.ID, d.DeviceCodeHash, at(20*time.Second))
	mustOK(t, err, "poll approved")
	if res != storage.PollApproved || got.UserID != sd.user.ID || got.SessionID != sd.session.ID ||
		!got.AuthTime.Equal(at(-time.Hour)) || len(got.AMR) != 1 || got.Status != storage.DeviceIssued {
		t.Errorf("approved poll = %d, %+v", res, got)
	}
	_, res, err = s.PollDeviceAuthorization(ctx, sd.client.ID, d.DeviceCodeHash, at(40*time.Second))
	mustOK(t, err, "poll spent")
	if res != storage.PollSpent {
		t.Errorf("poll after issue = %d, want PollSpent", res)
	}
	_, _, err = s.PollDeviceAuthorization(ctx, sd.client.ID, storage.HashToken("device-unknown"), at(0))
	wantErr(t, err, storage.ErrNotFound, "poll unknown")
	_, _, err = s.PollDeviceAuthorization(ctx, sd.client2.ID, d.DeviceCodeHash, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "poll with another client")

	denied := newDevice("dev-0002", sd.client.ID)
	mustOK(t, s.CreateDeviceAuthorization(ctx, denied, at(0)), "CreateDeviceAuthorization")
	mustOK(t, s.DecideDeviceAuthorization(ctx, denied.ID, storage.DeviceDecision{}, at(time.Second)), "deny")
	if _, res, _ := s.PollDeviceAuthorization(ctx, sd.client.ID, denied.DeviceCodeHash, at(2*time.Second)); res != storage.PollDenied {
		t.Errorf("denied poll = %d", res)
	}
	if _, res, _ := s.PollDeviceAuthorization(ctx, sd.client.ID, denied.DeviceCodeHash, at(10*time.Minute)); res != storage.PollExpired {
		t.Errorf("poll at expiry = %d", res)
	}
}

// testDevicePollSlowDown: a poll sooner than the interval answers slow_down
// and adds 5 s to the interval for good (RFC 8628 §3.5).
func testDevicePollSlowDown(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	d := newDevice("dev-0003", sd.client.ID)
	mustOK(t, s.CreateDeviceAuthorization(ctx, d, at(0)), "CreateDeviceAuthorization")
	for _, st := range []struct {
		name         string
		now          time.Duration
		want         storage.DevicePoll
		wantInterval time.Duration
	}{
		{"first", time.Second, storage.PollPending, 5 * time.Second},
		{"too-soon", 3 * time.Second, storage.PollSlowDown, 10 * time.Second},
		{"old-interval-is-too-soon-now", 9 * time.Second, storage.PollSlowDown, 15 * time.Second},
		{"waited-the-new-interval", 24 * time.Second, storage.PollPending, 15 * time.Second},
	} {
		got, res, err := s.PollDeviceAuthorization(ctx, sd.client.ID, d.DeviceCodeHash, at(st.now))
		mustOK(t, err, "poll %s", st.name)
		if res != st.want || got.Interval != st.wantInterval || !got.LastPolledAt.Equal(at(st.now)) {
			t.Errorf("%s: poll = %d interval %s last %s, want %d %s", st.name, res, got.Interval, got.LastPolledAt, st.want, st.wantInterval)
		}
	}
}

// testDeviceAuthorizationUnique: user codes and device codes are unique;
// creating one deletes the expired ones, freeing their codes.
func testDeviceAuthorizationUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	mustOK(t, s.CreateDeviceAuthorization(ctx, newDevice("dev-0004", sd.client.ID), at(0)), "create")
	sameUser := newDevice("dev-0005", sd.client.ID)
	sameUser.UserCode = "BCDF0004"
	wantErr(t, s.CreateDeviceAuthorization(ctx, sameUser, at(time.Second)), storage.ErrAlreadyExists, "taken user code")
	sameDevice := newDevice("dev-0006", sd.client.ID)
	sameDevice.DeviceCodeHash = storage.HashToken("device-dev-0004")
	wantErr(t, s.CreateDeviceAuthorization(ctx, sameDevice, at(time.Second)), storage.ErrAlreadyExists, "taken device code")
	wantErr(t, s.CreateDeviceAuthorization(ctx, newDevice("dev-0007", "no-such-client"), at(time.Second)), storage.ErrNotFound, "unknown client")
	// After the first one expired, its user code is free again.
	mustOK(t, s.CreateDeviceAuthorization(ctx, sameUser, at(11*time.Minute)), "user code of an expired one")
	_, _, err := s.PollDeviceAuthorization(ctx, sd.client.ID, storage.HashToken("device-dev-0004"), at(11*time.Minute))
	wantErr(t, err, storage.ErrNotFound, "expired one deleted")
}

// testConcurrentDevicePoll: of concurrent polls of an approved
// authorization exactly one gets the tokens.
func testConcurrentDevicePoll(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	d := newDevice("dev-0008", sd.client.ID)
	d.Interval = 0
	mustOK(t, s.CreateDeviceAuthorization(ctx, d, at(0)), "create")
	mustOK(t, s.DecideDeviceAuthorization(ctx, d.ID, storage.DeviceDecision{Approved: true, UserID: sd.user.ID,
		SessionID: sd.session.ID, AuthTime: at(0), AMR: []string{"pwd"}}, at(0)), "approve")
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range n {
		wg.Go(func() {
			_, res, err := s.PollDeviceAuthorization(ctx, sd.client.ID, d.DeviceCodeHash, at(time.Second))
			if err != nil && !errors.Is(err, storage.ErrConflict) {
				t.Errorf("poll: %v", err)
			}
			if res == storage.PollApproved && err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d polls got the tokens, want exactly 1", won)
	}
}

// testClientAssertionReplay: a jti is accepted once per client until it
// expires; another client may use the same jti.
func testClientAssertionReplay(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	exp := at(time.Minute)
	mustOK(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-1", exp, at(0)), "first use")
	wantErr(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-1", exp, at(time.Second)), storage.ErrAlreadyExists, "replay")
	mustOK(t, s.UseClientAssertion(ctx, sd.client2.ID, "jti-1", exp, at(time.Second)), "same jti, other client")
	wantErr(t, s.UseClientAssertion(ctx, "no-such-client", "jti-1", exp, at(time.Second)), storage.ErrNotFound, "unknown client")
	mustOK(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-1", at(3*time.Minute), at(2*time.Minute)), "after expiry")
	wantErr(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-1", at(3*time.Minute), at(2*time.Minute)), storage.ErrAlreadyExists, "replay of the new one")
}

// testPushedRequestSingleUse: a pushed request is consumed once, by its
// own client, before it expires.
func testPushedRequestSingleUse(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	r := &storage.PushedRequest{ID: storage.HashToken("par-1"), ClientID: sd.client.ID,
		Params:    url.Values{"scope": {"openid profile"}, "state": {"s t"}, "redirect_uri": {"https://x.test/cb"}},
		CreatedAt: at(0), ExpiresAt: at(time.Minute)}
	mustOK(t, s.CreatePushedRequest(ctx, r, at(0)), "CreatePushedRequest")
	wantErr(t, s.CreatePushedRequest(ctx, r, at(0)), storage.ErrAlreadyExists, "taken id")
	_, err := s.ConsumePushedRequest(ctx, r.ID, sd.client2.ID, at(time.Second))
	wantErr(t, err, storage.ErrNotFound, "other client's")
	got, err := s.ConsumePushedRequest(ctx, r.ID, sd.client.ID, at(time.Second))
	mustOK(t, err, "ConsumePushedRequest")
	assertEqual(t, "pushed request", r, got)
	_, err = s.ConsumePushedRequest(ctx, r.ID, sd.client.ID, at(2*time.Second))
	wantErr(t, err, storage.ErrNotFound, "second use")

	old := &storage.PushedRequest{ID: storage.HashToken("par-2"), ClientID: sd.client.ID, Params: url.Values{},
		CreatedAt: at(0), ExpiresAt: at(time.Minute)}
	mustOK(t, s.CreatePushedRequest(ctx, old, at(0)), "create")
	_, err = s.ConsumePushedRequest(ctx, old.ID, sd.client.ID, at(time.Minute))
	wantErr(t, err, storage.ErrNotFound, "at expiry")
	wantErr(t, s.CreatePushedRequest(ctx, &storage.PushedRequest{ID: "x", ClientID: "no-such-client", Params: url.Values{},
		CreatedAt: at(0), ExpiresAt: at(time.Minute)}, at(0)), storage.ErrNotFound, "unknown client")
}

// testOAuthRowsDeletedWithClient: deleting a client deletes its device
// authorizations, assertions and pushed requests.
func testOAuthRowsDeletedWithClient(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sd := seedRows(t, s)
	d := newDevice("dev-0009", sd.client.ID)
	mustOK(t, s.CreateDeviceAuthorization(ctx, d, at(0)), "create device")
	mustOK(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-9", at(time.Minute), at(0)), "use assertion")
	par := &storage.PushedRequest{ID: "par-9", ClientID: sd.client.ID, Params: url.Values{}, CreatedAt: at(0), ExpiresAt: at(time.Minute)}
	mustOK(t, s.CreatePushedRequest(ctx, par, at(0)), "create pushed")
	mustOK(t, s.DeleteClient(ctx, sd.client.ID), "DeleteClient")
	mustOK(t, s.CreateClient(ctx, newClient(sd.client.ID)), "CreateClient again")
	_, err := s.GetDeviceAuthorizationByUserCode(ctx, d.UserCode, at(time.Second))
	wantErr(t, err, storage.ErrNotFound, "device authorization after DeleteClient")
	mustOK(t, s.UseClientAssertion(ctx, sd.client.ID, "jti-9", at(time.Minute), at(time.Second)), "jti free after DeleteClient")
	_, err = s.ConsumePushedRequest(ctx, par.ID, sd.client.ID, at(time.Second))
	wantErr(t, err, storage.ErrNotFound, "pushed request after DeleteClient")
}
