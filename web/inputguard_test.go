package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestGuardInputParsesOnce: a clean form body reaches the handler already
// parsed into PostForm, exactly as its own ParseForm would have parsed it;
// a body ParseForm would refuse reaches it unparsed, so the handler's
// ParseForm still refuses it; the body reads the same bytes in every
// case; bad characters never reach the handler.
func TestGuardInputParsesOnce(t *testing.T) {
	big := "a=" + strings.Repeat("x", guardBodyBytes)
	for _, tc := range []struct {
		name, ct, body string
		parsed         bool // PostForm set before the handler's ParseForm
		parseErr       bool // the handler's ParseForm fails
		refused        bool // 400 from the guard
	}{
		{"clean form", "application/x-www-form-urlencoded", "grant_type=client_credentials&scope=a%3Ab+c", true, false, false},
		{"charset parameter", "application/x-www-form-urlencoded; charset=utf-8", "token=abc", true, false, false},
		{"empty body", "application/x-www-form-urlencoded", "", true, false, false},
		{"repeated keys", "application/x-www-form-urlencoded", "a=1&a=2", true, false, false},
		{"malformed pair", "application/x-www-form-urlencoded", "a=%zz&b=1", false, true, false},
		{"semicolon", "application/x-www-form-urlencoded", "a=1;b=2", false, true, false},
		{"bad media-type parameter", "application/x-www-form-urlencoded; =x", "a=1", false, true, false},
		{"over the limit", "application/x-www-form-urlencoded", big, false, true, false},
		{"JSON body", "application/json", `{"a":1}`, false, false, false},
		{"NUL byte", "application/x-www-form-urlencoded", "a=%00", false, false, true},
		{"invalid UTF-8", "application/x-www-form-urlencoded", "a=%ff", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reached, parsed bool
			var body string
			var parseErr error
			var form url.Values
			h := (&Handler{}).GuardInput(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached, parsed = true, r.PostForm != nil
				b, err := io.ReadAll(r.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
				r.Body = io.NopCloser(strings.NewReader(body))
				r.Body = http.MaxBytesReader(w, r.Body, guardBodyBytes)
				parseErr = r.ParseForm()
				form = r.PostForm
			}), func(*http.Request) bool { return true })
			req := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ct)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.refused {
				if reached || rec.Code != http.StatusBadRequest {
					t.Fatalf("reached the handler %v, status %d; want a 400 from the guard", reached, rec.Code)
				}
				return
			}
			if !reached {
				t.Fatalf("refused (%d): %s", rec.Code, rec.Body)
			}
			if parsed != tc.parsed {
				t.Errorf("PostForm set by the guard: %v, want %v", parsed, tc.parsed)
			}
			if body != tc.body {
				t.Errorf("the handler read %d bytes of the body, want the %d sent", len(body), len(tc.body))
			}
			if (parseErr != nil) != tc.parseErr {
				t.Errorf("ParseForm: %v, want an error: %v", parseErr, tc.parseErr)
			}
			if tc.parsed {
				want, _ := url.ParseQuery(tc.body)
				if !reflect.DeepEqual(map[string][]string(form), map[string][]string(want)) {
					t.Errorf("PostForm %v, want %v", form, want)
				}
			}
		})
	}
}
