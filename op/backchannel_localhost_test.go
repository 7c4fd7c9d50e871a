package op

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestChecklistL6LocalhostNames (issue #13 item 5): a back-channel URI on
// a *.localhost name is loopback (RFC 6761 §6.3), resolved by the
// provider itself, never through DNS: refused without private networks,
// delivered to 127.0.0.1 with them.
func TestChecklistL6LocalhostNames(t *testing.T) {
	var hits atomic.Int32
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer rp.Close()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(rp.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		host         string
		allowPrivate bool
		delivered    bool
	}{
		{"L6/localhost-name-refused-by-default", "app1.localhost", false, false},
		{"L6/upper-case-localhost-name-refused-by-default", "App1.LOCALHOST", false, false},
		{"L6/localhost-refused-by-default", "localhost", false, false},
		{"L6/localhost-name-dialled-as-loopback-when-allowed", "app1.localhost", true, true},
		{"L6/localhost-dialled-as-loopback-when-allowed", "localhost", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			resp, err := newBackchannelClient(tc.allowPrivate).Post("http://"+net.JoinHostPort(tc.host, port)+"/bcl",
				"application/x-www-form-urlencoded", strings.NewReader("logout_token=x"))
			if resp != nil {
				_ = resp.Body.Close()
			}
			if tc.delivered {
				if err != nil || resp.StatusCode != http.StatusOK || hits.Load() != before+1 {
					t.Fatalf("POST: %v; want delivered to the loopback receiver", err)
				}
				return
			}
			if !errors.Is(err, errPrivateAddress) || hits.Load() != before {
				t.Fatalf("POST: %v; want errPrivateAddress and no contact", err)
			}
		})
	}
}
