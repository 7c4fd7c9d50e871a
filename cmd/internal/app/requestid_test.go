package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/web"
)

// TestRequestIDMiddleware: a safe client id is kept, anything else is
// replaced by a fresh one; the id is on the response and in the context.
func TestRequestIDMiddleware(t *testing.T) {
	generated := regexp.MustCompile(`^[A-Za-z0-9_-]{16}$`)
	for _, tc := range []struct {
		name   string
		header string
		keep   bool
	}{
		{name: "none", header: ""},
		{name: "safe", header: "lb-7f3a.9_x", keep: true},
		{name: "64-chars", header: strings.Repeat("a", 64), keep: true},
		{name: "65-chars", header: strings.Repeat("a", 65)},
		{name: "markup", header: "<script>alert(1)</script>"},
		{name: "space", header: "a b"},
		{name: "quote", header: `a"b`},
		{name: "non-ascii", header: "ä"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inCtx string
			h := withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inCtx = web.RequestID(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.header != "" {
				req.Header.Set(requestIDHeader, tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(requestIDHeader)
			if got != inCtx {
				t.Fatalf("response id %q, context id %q", got, inCtx)
			}
			if tc.keep && got != tc.header {
				t.Fatalf("id = %q, want the client's %q", got, tc.header)
			}
			if !tc.keep && !generated.MatchString(got) {
				t.Fatalf("id = %q, want a generated one", got)
			}
		})
	}
}

// TestRequestIDInLogs: records logged with a request's context carry its
// request_id; others do not, and derived loggers keep the behaviour.
func TestRequestIDInLogs(t *testing.T) {
	var buf bytes.Buffer
	logger := NewLogger("info", "json", &buf)
	ctx := web.WithRequestID(t.Context(), "req-1")
	for _, tc := range []struct {
		name string
		log  func()
		want string
	}{
		{"with-context", func() { logger.InfoContext(ctx, "x") }, "req-1"},
		{"without-context", func() { logger.Info("x") }, ""},
		{"derived-logger", func() { logger.With("k", "v").WarnContext(ctx, "x") }, "req-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.String())
			}
			if got, _ := rec["request_id"].(string); got != tc.want {
				t.Fatalf("request_id = %q, want %q in %s", got, tc.want, buf.String())
			}
		})
	}
}
