package op

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestPARClientCredentials: /par reads client authentication as the token
// endpoint does; the Basic header's values are form-encoded (RFC 6749
// §2.3.1) and an unreadable header authenticates nobody.
func TestPARClientCredentials(t *testing.T) {
	tests := []struct {
		name                              string
		form                              url.Values
		basicID, basicSecret              string
		wantID, wantSecret, wantAssertion string
	}{
		{name: "basic", basicID: "app%3Aone", basicSecret: "s%2Bcret", wantID: "app:one", wantSecret: "s+cret"},
		{name: "basic-unreadable", basicID: "app%zz", basicSecret: "x"},
		{name: "post", form: url.Values{"client_id": {"app"}, "client_secret": {"s"}}, wantID: "app", wantSecret: "s"},
		{name: "public", form: url.Values{"client_id": {"spa"}}, wantID: "spa"},
		{name: "assertion", form: url.Values{"client_assertion": {"a.b.c"}, "client_assertion_type": {"jwt"}}, wantAssertion: "a.b.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, PathPAR, strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.basicID != "" {
				r.SetBasicAuth(tt.basicID, tt.basicSecret)
			}
			if err := r.ParseForm(); err != nil {
				t.Fatal(err)
			}
			cc := clientCredentials(r).Data
			if cc.ClientID != tt.wantID || cc.ClientSecret != tt.wantSecret || cc.ClientAssertion != tt.wantAssertion {
				t.Errorf("= %+v, want id %q secret %q assertion %q", cc, tt.wantID, tt.wantSecret, tt.wantAssertion)
			}
		})
	}
}

// TestPAREndpointCheck: a pushed request must not carry request_uri (RFC
// 9126 §2.1).
func TestPAREndpointCheck(t *testing.T) {
	if e := parEndpoint.check(url.Values{"request_uri": {"urn:x"}}); e == nil || e.ErrorType != "invalid_request" {
		t.Errorf("request_uri pushed: %v", e)
	}
	if e := parEndpoint.check(url.Values{"response_type": {"code"}}); e != nil {
		t.Errorf("plain request: %v", e)
	}
}
