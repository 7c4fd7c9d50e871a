package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/view"
)

// The user-code page of the device authorization grant (RFC 8628 §3.3):
// a person types the code a device shows (or follows the
// verification_uri_complete link), signs in through the normal sign-in
// flow, confirms which application gets access, and is told to return
// to the device. op answers the device's polls.
const (
	devicePath        = "/device"
	deviceConfirmPath = "/device/confirm"
	// deviceRequestPrefix marks the ids of the authorization requests
	// that carry a device sign-in through the flow; the flow sends them
	// to the confirmation page instead of the provider's callback.
	deviceRequestPrefix = "device-"
)

// DeviceStore is what the user-code page needs besides Store; every
// storage.Store is one.
type DeviceStore interface {
	CreateAuthRequest(ctx context.Context, r *storage.AuthRequest) error
	DeleteAuthRequest(ctx context.Context, id string) error
	storage.DeviceAuthorizations
}

var _ DeviceStore = storage.Store(nil)

// deviceCodePolicy limits user-code attempts per address (RFC 8628 §5.1:
// brute-forcing user codes; project choice): every submission counts, 20
// a minute, then 1 minute locks growing to 15. With 20^8 codes alive for
// 10 minutes, guessing one takes about 10^8 addresses.
var deviceCodePolicy = storage.ThrottlePolicy{Window: time.Minute, Free: 20, Delay: time.Minute, MaxDelay: 15 * time.Minute}

// Catalog keys of the device pages' messages.
const (
	deviceCodeWrong = "device.error.wrong_code"
	deviceCodeEmpty = "device.error.empty"
	deviceTooMany   = "device.error.too_many"
)

// flowCallback is where the sign-in flow continues once someone signed
// in: the device confirmation page for a device sign-in, the provider's
// callback otherwise.
func (h *Handler) flowCallback(authRequestID string) string {
	if strings.HasPrefix(authRequestID, deviceRequestPrefix) {
		return deviceConfirmPath + "?id=" + url.QueryEscape(authRequestID)
	}
	return h.callback(authRequestID)
}

// getDevice shows the user-code form, prefilled from ?user_code=.
func (h *Handler) getDevice(w http.ResponseWriter, r *http.Request) error {
	code := r.URL.Query().Get("user_code")
	if len(code) > 32 {
		code = ""
	}
	h.render(w, r, http.StatusOK, view.DeviceEntry(view.DeviceEntryForm{CSRFToken: h.ensureCSRF(w, r), UserCode: code}))
	return nil
}

// postDevice checks a typed user code. Every submission is counted per
// address before the code is looked up; a wrong, expired or already
// answered code gets the same message. A good one starts a sign-in for
// the device's client, or goes straight to the confirmation when the
// browser is signed in already.
func (h *Handler) postDevice(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	typed := r.PostForm.Get("user_code")
	again := func(status int, msg string) error {
		h.render(w, r, status, view.DeviceEntry(view.DeviceEntryForm{CSRFToken: h.ensureCSRF(w, r), UserCode: typed, Error: msg}))
		return nil
	}
	if strings.TrimSpace(typed) == "" {
		return again(http.StatusBadRequest, deviceCodeEmpty)
	}
	addr := h.clientAddr(r)
	state, admitted, err := h.store.RecordLoginFailure(ctx, "device-ip:"+addr, h.now(), deviceCodePolicy)
	if err != nil {
		return fmt.Errorf("count user code attempt: %w", err)
	}
	if !admitted {
		h.log.WarnContext(ctx, "user code attempts throttled", "event", "device_code_throttled", "address", addr)
		w.Header().Set("Retry-After", retryAfterSeconds(state.LockedUntil.Sub(h.now())))
		return again(http.StatusTooManyRequests, deviceTooMany)
	}
	code, ok := storage.NormalizeUserCode(typed)
	if !ok {
		return again(http.StatusBadRequest, deviceCodeWrong)
	}
	d, err := h.devices.GetDeviceAuthorizationByUserCode(ctx, code, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return again(http.StatusBadRequest, deviceCodeWrong)
	}
	if err != nil {
		return fmt.Errorf("get device authorization: %w", err)
	}
	now := h.now().UTC()
	req := &storage.AuthRequest{
		ID: deviceRequestPrefix + storage.NewID(), ClientID: d.ClientID, Scopes: d.Scopes,
		State: d.UserCode, ResponseMode: "query", CreatedAt: now, ExpiresAt: d.ExpiresAt,
	}
	sess, err := h.sessions.Current(r)
	if err != nil {
		return err
	}
	if sess == nil {
		if h.pending != nil { // nothing stored before someone signs in (issue #13 item 7b)
			sealed, err := h.pending.Seal(req)
			if err != nil {
				return fmt.Errorf("seal device request: %w", err)
			}
			http.Redirect(w, r, h.flow.Start(sealed), http.StatusSeeOther)
			return nil
		}
		if err := h.devices.CreateAuthRequest(ctx, req); err != nil {
			return fmt.Errorf("store device request: %w", err)
		}
		http.Redirect(w, r, h.flow.Start(req.ID), http.StatusSeeOther)
		return nil
	}
	req.UserID, req.SessionID, req.AuthTime, req.AMR = sess.UserID, sess.ID, sess.AuthTime, sess.AMR
	if err := h.devices.CreateAuthRequest(ctx, req); err != nil {
		return fmt.Errorf("store device request: %w", err)
	}
	http.Redirect(w, r, h.flowCallback(req.ID), http.StatusSeeOther)
	return nil
}

// deviceRequest loads the device sign-in of the confirmation page, bound
// to this browser's session, with the pending device authorization.
func (h *Handler) deviceRequest(r *http.Request, id string) (*pendingRequest, *storage.DeviceAuthorization, error) {
	if !strings.HasPrefix(id, deviceRequestPrefix) {
		return nil, nil, errExpired(nil)
	}
	p, err := h.consentRequest(r, id)
	if err != nil {
		return nil, nil, err
	}
	d, err := h.devices.GetDeviceAuthorizationByUserCode(r.Context(), p.req.State, h.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, errExpired(err)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get device authorization: %w", err)
	}
	return p, d, nil
}

// getDeviceConfirm asks the signed-in person whether the device's
// application may access their account. The person confirms every device
// sign-in, whatever consent they gave the client before: the code could
// have been handed to them by someone else (RFC 8628 §5.4, remote
// phishing), so the page names the application and the code.
func (h *Handler) getDeviceConfirm(w http.ResponseWriter, r *http.Request) error {
	p, d, err := h.deviceRequest(r, r.URL.Query().Get("id"))
	if err != nil {
		return err
	}
	var userName string
	if u, err := h.store.GetUser(r.Context(), p.req.UserID); err == nil {
		userName = u.Username
	}
	h.render(w, r, http.StatusOK, view.DeviceConfirm(view.DeviceConfirmForm{
		RequestID: p.req.ID, CSRFToken: h.ensureCSRF(w, r), ClientName: clientName(p.client),
		UserName: userName, UserCode: storage.FormatUserCode(d.UserCode), Scopes: describeScopes(d.Scopes),
	}))
	return nil
}

// postDeviceConfirm records the answer on the device authorization, which
// the device's next poll gets, and shows the done page.
func (h *Handler) postDeviceConfirm(w http.ResponseWriter, r *http.Request) error {
	if err := h.parsePost(w, r); err != nil {
		return err
	}
	ctx := r.Context()
	id := r.PostForm.Get("id")
	p, d, err := h.deviceRequest(r, id)
	if err != nil {
		return err
	}
	var approved bool
	switch r.PostForm.Get("action") {
	case "approve":
		approved = true
	case "deny":
	default:
		return fail(http.StatusBadRequest, invalidFormT, chooseAnswerD, nil)
	}
	dec := storage.DeviceDecision{Approved: approved}
	if approved {
		dec.UserID, dec.SessionID, dec.AuthTime, dec.AMR = p.req.UserID, p.req.SessionID, p.req.AuthTime, p.req.AMR
	}
	if err := h.devices.DecideDeviceAuthorization(ctx, d.ID, dec, h.now()); err != nil {
		return errRequestUpdate(fmt.Errorf("decide device authorization: %w", err))
	}
	if err := h.devices.DeleteAuthRequest(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.log.ErrorContext(ctx, "delete device sign-in request", "err", err)
	}
	e := storage.AuditEntry{Action: storage.ActionConsentDeny, ActorID: p.req.UserID, Target: "client:" + p.req.ClientID,
		Address: h.clientAddr(r), Detail: "device sign-in; scopes: " + strings.Join(d.Scopes, " ")}
	if approved {
		e.Action = storage.ActionConsentGrant
	}
	h.audit.Record(ctx, e, "device_authorization", d.ID)
	h.render(w, r, http.StatusOK, view.DeviceDone(approved, clientName(p.client)))
	return nil
}
