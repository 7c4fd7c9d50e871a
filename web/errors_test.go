package web

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
)

// TestFail: the people adapter shows a public message with the request id
// as reference, a generic one for anything else, and never the error
// text; it logs the error with the request's context.
func TestFail(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantText   string
		wantLevel  string
	}{
		{"public", &PublicError{Status: http.StatusForbidden, Title: formTitle, Detail: formDetail, Err: errors.New("pq: secret detail")},
			http.StatusForbidden, formDetail, "INFO"},
		{"wrapped-public", fmt.Errorf("loading: %w", errExpired(storage.ErrNotFound)), http.StatusBadRequest, expiredDetail, "INFO"},
		{"request-update-conflict", errRequestUpdate(fmt.Errorf("pq: secret detail: %w", storage.ErrConflict)),
			http.StatusBadRequest, completedDet, "INFO"},
		{"plain-error", errors.New("pq: secret detail"), http.StatusServiceUnavailable, unavailDetail, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, false)
			var logs bytes.Buffer
			e.h.log = slog.New(slog.NewTextHandler(&logs, nil))
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/consent", nil)
			r = r.WithContext(WithRequestID(r.Context(), "ref-123"))
			e.h.Fail(w, r, tc.err)
			body := w.Body.String()
			if w.Code != tc.wantStatus || !strings.Contains(body, html.EscapeString(en(tc.wantText))) || !strings.Contains(body, "ref-123") {
				t.Fatalf("%d, want %d with %q and the reference:\n%s", w.Code, tc.wantStatus, tc.wantText, body)
			}
			if strings.Contains(body, "pq:") || strings.Contains(body, "secret detail") {
				t.Fatalf("page shows the error text:\n%s", body)
			}
			if !strings.Contains(logs.String(), "level="+tc.wantLevel) || !strings.Contains(logs.String(), "secret detail") && tc.name != "wrapped-public" {
				t.Fatalf("log %q, want level %s with the cause", logs.String(), tc.wantLevel)
			}
		})
	}
}
