package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

func withDeviceFlow(c *Config) { c.DeviceFlow = true }

// newDeviceAuthorization stores a pending device authorization of "app"
// and returns its user code as a device shows it.
func (e *testEnv) newDeviceAuthorization(code string) *storage.DeviceAuthorization {
	e.t.Helper()
	now := e.clock.Now()
	d := &storage.DeviceAuthorization{ID: storage.NewID(), DeviceCodeHash: storage.HashToken("dc-" + code), UserCode: code,
		ClientID: "app", Scopes: []string{"openid", "profile"}, CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute),
		Interval: 5 * time.Second, Status: storage.DevicePending}
	e.must(e.store.CreateDeviceAuthorization(context.Background(), d, now))
	return d
}

func (e *testEnv) deviceState(d *storage.DeviceAuthorization) (*storage.DeviceAuthorization, storage.DevicePoll) {
	e.t.Helper()
	got, res, err := e.store.PollDeviceAuthorization(context.Background(), "app", d.DeviceCodeHash, e.clock.Now())
	e.must(err)
	return got, res
}

// enterCode opens /device (with ?user_code= when prefill) and submits typed.
func (e *testEnv) enterCode(c *http.Client, typed string) page {
	e.t.Helper()
	form := e.get(c, devicePath)
	return e.post(c, devicePath, url.Values{"csrf_token": {csrf(e.t, form)}, "user_code": {typed}})
}

// TestDeviceSignInThroughTheFlow: a person without a session types the
// code in any case with any separator, signs in through the normal
// sign-in page, confirms, and the device's poll gets the approval with
// the session's user; the same code cannot be used again.
func TestDeviceSignInThroughTheFlow(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		approve     bool
		want        storage.DevicePoll
	}{
		{"approve-lower-case-spaces", "wdjb mjht", true, storage.PollApproved},
		{"deny-dashed", "WDJB-MJHT", false, storage.PollDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false, withDeviceFlow)
			d := e.newDeviceAuthorization("WDJBMJHT")
			c := e.browser()
			got := e.enterCode(c, tc.typed)
			if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), loginPath) {
				t.Fatalf("code: %d %s\n%s", got.status, got.header.Get("Location"), got.body)
			}
			login := e.get(c, got.header.Get("Location"))
			got = e.post(c, "/login", url.Values{"id": {formValue(t, login, "id")}, "csrf_token": {csrf(t, login)},
				"username": {"alice"}, "password": {alicePassword}})
			confirm := got.header.Get("Location")
			if got.status != http.StatusSeeOther || !strings.HasPrefix(confirm, deviceConfirmPath) {
				t.Fatalf("login: %d %s\n%s", got.status, confirm, got.body)
			}
			page := e.get(c, confirm)
			for _, want := range []string{"Example App", "WDJB-MJHT", "alice", `action="/device/confirm"`} {
				if !strings.Contains(page.body, want) {
					t.Errorf("confirmation page lacks %q:\n%s", want, page.body)
				}
			}
			action := "deny"
			if tc.approve {
				action = "approve"
			}
			done := e.post(c, deviceConfirmPath, url.Values{"id": {formValue(t, page, "id")}, "csrf_token": {csrf(t, page)}, "action": {action}})
			if done.status != http.StatusOK {
				t.Fatalf("confirm: %d\n%s", done.status, done.body)
			}
			st, res := e.deviceState(d)
			if res != tc.want || (tc.approve && (st.UserID != "u-alice" || st.SessionID == "")) {
				t.Errorf("poll = %d %+v, want %d", res, st, tc.want)
			}
			if again := e.enterCode(c, tc.typed); again.status != http.StatusBadRequest || !strings.Contains(again.body, "not valid") {
				t.Errorf("code used twice: %d\n%s", again.status, again.body)
			}
			if replay := e.post(c, deviceConfirmPath, url.Values{"id": {formValue(t, page, "id")}, "csrf_token": {csrf(t, page)},
				"action": {"approve"}}); replay.status == http.StatusOK {
				t.Errorf("confirmation accepted twice")
			}
		})
	}
}

// formValue extracts a hidden input's value.
func formValue(t *testing.T, p page, name string) string {
	t.Helper()
	_, after, ok := strings.Cut(p.body, `name="`+name+`" value="`)
	if !ok {
		t.Fatalf("no %s in page:\n%s", name, p.body)
	}
	v, _, _ := strings.Cut(after, `"`)
	return strings.ReplaceAll(v, "&amp;", "&")
}

// TestDeviceCodeRefusals: wrong, malformed, empty and expired codes get
// the form again with a message and change nothing; a signed-in browser
// goes straight to the confirmation; another browser cannot use its page.
func TestDeviceCodeRefusals(t *testing.T) {
	e := newEnv(t, false, withDeviceFlow)
	d := e.newDeviceAuthorization("BCDFGHJK")
	c := e.browser()
	for _, tc := range []struct{ name, typed, want string }{
		{"unknown", "BCDF-GHJL", "not valid"},
		{"vowel", "ABCD-EFGH", "not valid"},
		{"too-short", "BCDF", "not valid"},
		{"empty", "  ", "Enter the code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.enterCode(c, tc.typed)
			if got.status != http.StatusBadRequest || !strings.Contains(got.body, tc.want) {
				t.Errorf("%d\n%s", got.status, got.body)
			}
		})
	}
	if _, res := e.deviceState(d); res != storage.PollPending {
		t.Errorf("refusals changed the authorization: %d", res)
	}

	signed, _ := signedIn(t, e)
	got := e.enterCode(signed, "bcdf-ghjk")
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), deviceConfirmPath) {
		t.Fatalf("signed in: %d %s", got.status, got.header.Get("Location"))
	}
	if other := e.get(e.browser(), got.header.Get("Location")); other.status != http.StatusBadRequest && other.status != http.StatusForbidden {
		t.Errorf("another browser opened the confirmation: %d", other.status)
	}
	e.clock.Advance(11 * time.Minute)
	if late := e.get(signed, got.header.Get("Location")); late.status != http.StatusBadRequest {
		t.Errorf("expired confirmation: %d", late.status)
	}
	if late := e.enterCode(signed, "bcdf-ghjk"); late.status != http.StatusBadRequest {
		t.Errorf("expired code accepted: %d", late.status)
	}
}

// TestDeviceCodeGuessingThrottled: after 20 submissions a minute from one
// address the page answers 429 without looking the code up, even a right
// one; a minute later it admits again.
func TestDeviceCodeGuessingThrottled(t *testing.T) {
	e := newEnv(t, false, withDeviceFlow)
	e.newDeviceAuthorization("BCDFGHJK")
	c := e.browser()
	for i := range 20 {
		if got := e.enterCode(c, "BCDF-GHJL"); got.status != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d", i+1, got.status)
		}
	}
	got := e.enterCode(c, "BCDF-GHJK")
	if got.status != http.StatusTooManyRequests || got.header.Get("Retry-After") == "" || !strings.Contains(got.body, "Too many") {
		t.Fatalf("21st attempt: %d %q\n%s", got.status, got.header.Get("Retry-After"), got.body)
	}
	e.clock.Advance(61 * time.Second)
	if got := e.enterCode(c, "BCDF-GHJK"); got.status != http.StatusSeeOther {
		t.Errorf("after the lock: %d\n%s", got.status, got.body)
	}
}

// TestDevicePagesOffByDefault: without DeviceFlow there is no /device.
func TestDevicePagesOffByDefault(t *testing.T) {
	e := newEnv(t, false)
	if got := e.get(e.browser(), devicePath); got.status != http.StatusNotFound {
		t.Errorf("GET /device = %d", got.status)
	}
}

// devicePages renders every device page for the language test.
func devicePages(t *testing.T, e *testEnv, c *http.Client) map[string]page {
	t.Helper()
	e.newDeviceAuthorization("QRSTVWXZ")
	e.newDeviceAuthorization("QRSTVWXB")
	pages := map[string]page{}
	pages["device"] = e.get(c, devicePath+"?user_code=QRST-VWXZ")
	pages["device-wrong"] = e.enterCode(c, "QRST-VWXC")
	pages["device-empty"] = e.enterCode(c, "")
	for _, action := range []string{"approve", "deny"} {
		code := map[string]string{"approve": "QRSTVWXZ", "deny": "QRSTVWXB"}[action]
		got := e.enterCode(c, code)
		confirm := e.get(c, got.header.Get("Location"))
		pages["device-confirm"] = confirm
		pages["device-done-"+action] = e.post(c, deviceConfirmPath, url.Values{"id": {formValue(t, confirm, "id")},
			"csrf_token": {csrf(t, confirm)}, "action": {action}})
	}
	for i := 0; i < 25; i++ {
		pages["device-too-many"] = e.enterCode(c, "QRST-VWXC")
	}
	return pages
}
