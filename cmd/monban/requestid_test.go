package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// referenceRE matches the request id an error page shows.
var referenceRE = regexp.MustCompile(`Reference: <code>[A-Za-z0-9._-]*</code>`)

// withoutReference removes the request id from an error page, for tests
// comparing two pages.
func withoutReference(page string) string {
	return referenceRE.ReplaceAllString(page, "Reference: <code></code>")
}

// TestErrorPageShowsRequestID: the provider's error pages show the
// request's id as a reference, the same one as the response header.
func TestErrorPageShowsRequestID(t *testing.T) {
	p := newTestServer(t)
	for _, tc := range []struct {
		name, path, header string
	}{
		{name: "unknown-client", path: "/authorize?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://x.example/cb"},
		{name: "expired-login", path: "/login?id=nothing", header: "from-the-lb-42"},
		{name: "home", path: "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, p.URL+tc.path, nil)
			if tc.header != "" {
				req.Header.Set("X-Request-Id", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			id := resp.Header.Get("X-Request-Id")
			if id == "" || (tc.header != "" && id != tc.header) {
				t.Fatalf("X-Request-Id = %q", id)
			}
			if want := "Reference: <code>" + id + "</code>"; !strings.Contains(string(body), want) {
				t.Fatalf("%d page does not show %q:\n%s", resp.StatusCode, want, body)
			}
		})
	}
}
