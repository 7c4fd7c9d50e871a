package op

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/netpolicy"
	"github.com/monban-idp/monban/storage/outbox"
)

// Back-Channel Logout 1.0 constants.
const (
	typLogoutToken = "logout+jwt" // §2.4 (the JWT type of application/logout+jwt)
	// EventBackChannelLogout is the one member of a logout token's events
	// claim (§2.4).
	EventBackChannelLogout = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenTTL keeps logout tokens short-lived (§2.4 recommends at
	// most two minutes; checklist L5).
	logoutTokenTTL = 2 * time.Minute
	// backchannelTimeout bounds one delivery: dialing, TLS, the response.
	backchannelTimeout = 5 * time.Second
)

// logoutTokenClaims are the claims of a logout token (Back-Channel Logout
// 1.0 §2.4). It never carries a nonce.
type logoutTokenClaims struct {
	Issuer   string              `json:"iss"`
	Audience []string            `json:"aud"`
	IssuedAt int64               `json:"iat"`
	Expiry   int64               `json:"exp"`
	JTI      string              `json:"jti"`
	Subject  string              `json:"sub,omitempty"`
	SID      string              `json:"sid,omitempty"`
	Events   map[string]struct{} `json:"events"`
}

// logoutToken signs a fresh logout token for one delivery, with the
// client's ID-token algorithm when it has a current key, else RS256.
// Each attempt gets its own jti and iat, so a retry is never rejected as
// stale or replayed (§2.6).
func (w *Worker) logoutToken(c *storage.Client, d *storage.LogoutDelivery, now time.Time) (string, error) {
	alg := defaultIDTokAlg
	if a := jose.SignatureAlgorithm(c.IDTokenSigningAlg); a != "" && slices.Contains(w.keys.Algorithms(), string(a)) {
		alg = a
	}
	return w.keys.Sign(alg, typLogoutToken, logoutTokenClaims{
		Issuer: w.issuer, Audience: []string{c.ID}, IssuedAt: now.Unix(), Expiry: now.Add(logoutTokenTTL).Unix(),
		JTI: storage.NewID(), Subject: d.Subject, SID: d.SessionID,
		Events: map[string]struct{}{EventBackChannelLogout: {}},
	})
}

// send delivers one logout token (§2.5): a POST of logout_token as a form,
// answered 200 (or 204, which some frameworks send instead). Redirects are
// not followed (checklist L6); the returned error is a short reason for
// operators, never shown to anyone else.
func (w *Worker) send(ctx context.Context, d *storage.LogoutDelivery, now time.Time) error {
	c, err := w.store.GetClient(ctx, d.ClientID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (c.Disabled || c.BackchannelLogoutURI == "")) {
		return outbox.Permanent(errors.New("the client is gone, disabled or has no back-channel logout URI any more"))
	}
	if err != nil {
		return errors.New("store unavailable")
	}
	token, err := w.logoutToken(c, d, now)
	if err != nil {
		w.log.ErrorContext(ctx, "sign logout token", "client_id", c.ID, "error", err)
		return errors.New("could not sign the logout token")
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	body := url.Values{"logout_token": {token}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return outbox.Permanent(errors.New("the back-channel logout URI is not valid"))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := w.http.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, errPrivateAddress):
			return errors.New("refused: the address is not public")
		case errors.As(err, &ne) && ne.Timeout():
			return errors.New("timed out")
		}
		return errors.New("connection failed")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("HTTP %d (redirects are not followed)", resp.StatusCode)
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// errPrivateAddress refuses connections to addresses that are not public.
var errPrivateAddress = errors.New("back-channel logout to a non-public address")

// newBackchannelClient returns the HTTP client for logout tokens: short
// timeouts, no redirects, no proxy, and, unless allowPrivate, no
// connections to addresses that are not public by the IANA
// special-purpose registries (storage/netpolicy). The check runs in the
// dialer's Control hook, on the address actually dialled after DNS
// resolution, so neither DNS nor a redirect can smuggle one in
// (checklist L6, SSRF).
func newBackchannelClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: backchannelTimeout}
	if !allowPrivate {
		dialer.Control = refuseNonPublic
	}
	return &http.Client{
		Timeout: backchannelTimeout,
		Transport: &http.Transport{
			DialContext:           localhostDial(dialer.DialContext, allowPrivate),
			TLSHandshakeTimeout:   backchannelTimeout,
			ResponseHeaderTimeout: backchannelTimeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refuseNonPublic is a net.Dialer Control hook: it refuses a connection to
// address ("ip:port", as the dialer resolved it) unless the IP is public.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !netpolicy.Public(ap.Addr()) {
		return errPrivateAddress
	}
	return nil
}

// localhostDial resolves localhost names itself instead of asking DNS:
// RFC 6761 §6.3 reserves localhost and every name under .localhost for
// loopback, which is why registration accepts http on them
// (clientpolicy.IsLoopbackHost). So a back-channel URI on app1.localhost
// reaches 127.0.0.1 or nothing, never an address a DNS answer names; and,
// being loopback, it is refused unless allowPrivate.
func localhostDial(dial func(ctx context.Context, network, address string) (net.Conn, error), allowPrivate bool) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(address); err == nil && net.ParseIP(host) == nil && clientpolicy.IsLoopbackHost(host) {
			if !allowPrivate {
				return nil, errPrivateAddress
			}
			address = net.JoinHostPort("127.0.0.1", port)
		}
		return dial(ctx, network, address)
	}
}
