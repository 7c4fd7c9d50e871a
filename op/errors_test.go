package op

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// TestFailureLevel: a request abandoned by its client is not logged as a
// server error; everything else is.
func TestFailureLevel(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want slog.Level
	}{
		{"client-went-away", fmt.Errorf("postgres: get client: %w", context.Canceled), slog.LevelInfo},
		{"store-timeout", fmt.Errorf("postgres: get client: %w", context.DeadlineExceeded), slog.LevelError},
		{"store-down", errors.New("connection refused"), slog.LevelError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failureLevel(tc.err); got != tc.want {
				t.Fatalf("failureLevel(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestMalformedRequestShowsNoGoError: an authorization or sign-out
// request whose parameters cannot be read is refused on the error page
// with a message of ours (the catalog key the test browser prints), never
// the parser's error text.
func TestMalformedRequestShowsNoGoError(t *testing.T) {
	p, _, _ := memoryProvider(t)
	mux := http.NewServeMux()
	p.Routes(mux)
	goText := []string{"invalid URL escape", "invalid semicolon", "semicolon", "%zz", "http:", "url.", "strconv"}
	for _, path := range []string{PathAuthorize, PathEndSession} {
		for _, tc := range []struct {
			name, method, query string
			want                string
		}{
			{"bad-escape", http.MethodGet, "client_id=%zz&redirect_uri=x", "_unreadable.detail"},
			{"lone-percent", http.MethodGet, "%zz", "_unreadable.detail"},
			{"semicolon", http.MethodGet, "client_id=a;redirect_uri=b", "_unreadable.detail"},
			{"too-large", http.MethodGet, "state=" + strings.Repeat("a", maxQueryBytes), "_too_large.detail"},
			{"wrong-method", http.MethodPut, "client_id=a", "_method.detail"},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, httptest.NewRequest(tc.method, path+"?"+tc.query, nil))
				body := w.Body.String()
				if w.Code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
					t.Fatalf("%d %q, want 400 saying %q", w.Code, body, tc.want)
				}
				for _, g := range goText {
					if strings.Contains(body, g) {
						t.Fatalf("page %q shows Go error text %q", body, g)
					}
				}
			})
		}
	}
}

// ctxKey marks a request's context in TestErrorsLogWithRequestContext.
type ctxKey struct{}

// ctxRecorder is a slog.Handler that records the ctxKey value of the
// context each record was logged with.
type ctxRecorder struct{ got *[]any }

func (h ctxRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h ctxRecorder) Handle(ctx context.Context, _ slog.Record) error {
	*h.got = append(*h.got, ctx.Value(ctxKey{}))
	return nil
}
func (h ctxRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h ctxRecorder) WithGroup(string) slog.Handler      { return h }

// TestErrorsLogWithRequestContext: a token-endpoint failure and an
// authorization error sent to the client are logged with the request's
// context (where the binary keeps the request id), and the client sees
// no cause.
func TestErrorsLogWithRequestContext(t *testing.T) {
	p, _, _ := memoryProvider(t)
	var got []any
	p.log = slog.New(ctxRecorder{&got})
	ctx := context.WithValue(t.Context(), ctxKey{}, "req-1")

	err := p.serverError(ctx, errors.New("pq: connection refused"))
	var oe *oidc.Error
	if !errors.As(err, &oe) || oe.ErrorType != "temporarily_unavailable" || strings.Contains(err.Error(), "pq:") {
		t.Fatalf("serverError = %v, want temporarily_unavailable that hides the cause", err)
	}

	w := httptest.NewRecorder()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, PathAuthorize, nil)
	p.serveBrowser(func(http.ResponseWriter, *http.Request) error {
		return &clientError{redirectURI: "https://app.example/cb?x=1", state: "s", echoState: true, e: oidc.ErrLoginRequired()}
	})(w, r)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "s" ||
		loc.Query().Get("x") != "1" || loc.Query().Get("iss") != p.Issuer() {
		t.Fatalf("client error answered %d %q", w.Code, w.Header().Get("Location"))
	}
	if len(got) != 2 || got[0] != "req-1" || got[1] != "req-1" {
		t.Fatalf("logged with contexts %v, want the request's twice", got)
	}
}

// TestUnavailablePage: a store failure on a browser endpoint is a 503
// page with Retry-After and no cause.
func TestUnavailablePage(t *testing.T) {
	p, _, _ := memoryProvider(t)
	w := httptest.NewRecorder()
	p.serveBrowser(func(http.ResponseWriter, *http.Request) error {
		return unavailable(errors.New("pq: connection refused"))
	})(w, httptest.NewRequest(http.MethodGet, CallbackPath, nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
		!strings.Contains(w.Body.String(), unavailTitle) || strings.Contains(w.Body.String(), "pq:") {
		t.Fatalf("%d Retry-After %q body %q", w.Code, w.Header().Get("Retry-After"), w.Body.String())
	}
}
