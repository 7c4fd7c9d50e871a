package web

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCSPReports covers the violation-report collector of checklist S9:
// both report formats are logged with their fields, anything else gets a
// clear 4xx, and the log lines are bounded per minute however many
// reports arrive.
func TestCSPReports(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, false, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	post := func(t *testing.T, contentType, body string) int {
		t.Helper()
		resp, err := http.Post(e.srv.URL+CSPReportPath, contentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	legacy := `{"csp-report":{"document-uri":"https://id.example/login","blocked-uri":"inline",` +
		`"violated-directive":"script-src","effective-directive":"script-src-elem"}}`
	reporting := `[{"type":"csp-violation","body":{"documentURL":"https://id.example/consent",` +
		`"blockedURL":"https://evil.example/x.js","effectiveDirective":"script-src-elem"}},` +
		`{"type":"deprecation","body":{}}]`
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
		wantLog                 string
	}{
		{"report-uri-format", "application/csp-report", legacy, http.StatusNoContent, "blocked=inline directive=script-src-elem"},
		{"reporting-api-format", "application/reports+json", reporting, http.StatusNoContent, "blocked=https://evil.example/x.js"},
		{"wrong-media-type", "application/json", legacy, http.StatusUnsupportedMediaType, ""},
		{"not-json", "application/csp-report", "<html>", http.StatusBadRequest, ""},
		{"no-report-member", "application/csp-report", `{"something":1}`, http.StatusBadRequest, ""},
		{"too-large", "application/csp-report", `{"csp-report":{"document-uri":"` + strings.Repeat("a", 20<<10) + `"}}`,
			http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs.Reset()
			if got := post(t, tc.contentType, tc.body); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if tc.wantLog != "" && !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("log %q lacks %q", logs.String(), tc.wantLog)
			}
			if n := strings.Count(logs.String(), "content security policy violation"); tc.wantLog != "" && n != 1 || tc.wantLog == "" && n != 0 {
				t.Fatalf("%d log lines, want %d", n, map[bool]int{true: 1, false: 0}[tc.wantLog != ""])
			}
		})
	}
	t.Run("log-lines-bounded", func(t *testing.T) {
		e.clock.Advance(time.Hour) // a new window
		logs.Reset()
		for range 3 * cspReportBurst {
			if got := post(t, "application/csp-report", legacy); got != http.StatusNoContent {
				t.Fatalf("status %d", got)
			}
		}
		if n := strings.Count(logs.String(), "content security policy violation"); n != cspReportBurst {
			t.Fatalf("%d lines for %d reports in one window, want %d", n, 3*cspReportBurst, cspReportBurst)
		}
		e.clock.Advance(cspReportWindow)
		logs.Reset()
		post(t, "application/csp-report", legacy)
		if want := "reports_dropped_before=20"; !strings.Contains(logs.String(), want) {
			t.Fatalf("first line of the next window %q lacks %q", logs.String(), want)
		}
	})
	t.Run("clip-keeps-utf8", func(t *testing.T) {
		if got := clip(strings.Repeat("é", 150)); len(got) > cspReportFieldLimit+len("…") || !strings.HasSuffix(got, "…") {
			t.Fatalf("clip = %d bytes", len(got))
		}
	})
}
