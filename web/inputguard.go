package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Storable reports whether s can be kept as PostgreSQL text: valid UTF-8
// without NUL bytes (PostgreSQL refuses 0x00 in text values, SQLSTATE
// 22021). Every value a client or a browser sends is checked against it at
// the edge (GuardInput), so such input is answered as bad input, never as
// a store failure.
func Storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// storableValues reports whether every key and value in v is Storable.
func storableValues(v url.Values) bool {
	for k, vs := range v {
		if !Storable(k) {
			return false
		}
		for _, s := range vs {
			if !Storable(s) {
				return false
			}
		}
	}
	return true
}

// guardBodyBytes is how much of a form body GuardInput reads ahead to check
// it: the handlers' own limit (maxFormBytes, checklist B2). A larger or
// malformed body is passed on untouched, so the handler answers it as it
// always did.
const guardBodyBytes = maxFormBytes

// GuardInput refuses, before any handler or store sees them, requests
// whose path, query, form body or HTTP Basic credentials hold a NUL byte
// or invalid UTF-8 (issue #13 item 6): an unauthenticated client must not
// be able to make the store fail (and raise store-failure alerts) at will.
// Requests for which isOAuth reports true (token, revocation,
// introspection, UserInfo) get the OAuth error invalid_request as JSON
// (RFC 6749 §5.2); every other request gets the readable 400 page.
func (h *Handler) GuardInput(next http.Handler, isOAuth func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if storableRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		if isOAuth != nil && isOAuth(r) {
			writeInvalidRequest(w)
			return
		}
		h.Fail(w, r, &PublicError{Status: http.StatusBadRequest, Title: badInputTitle, Detail: badInputDetail,
			Err: errUnstorable})
	})
}

// errUnstorable is the logged cause of a GuardInput refusal.
var errUnstorable = errors.New("a NUL byte or invalid UTF-8 in the request")

const (
	badInputTitle  = "error.bad_input.title"
	badInputDetail = "error.bad_input.detail"
)

// storableRequest checks the decoded path, the query, the Basic
// credentials (RFC 6749 §2.3.1 form-encodes them) and an URL-encoded form
// body. It buffers the body it reads and puts it back, so the handler
// reads the same bytes.
func storableRequest(r *http.Request) bool {
	if !Storable(r.URL.Path) {
		return false
	}
	// ParseQuery keeps every pair it could read even when another is
	// malformed, and handlers that use URL.Query read those same pairs:
	// check them whatever the error.
	if r.URL.RawQuery != "" {
		if q, _ := url.ParseQuery(r.URL.RawQuery); !storableValues(q) {
			return false
		}
	}
	if user, pass, ok := r.BasicAuth(); ok {
		for _, s := range [2]string{user, pass} {
			if d, err := url.QueryUnescape(s); (err == nil && !Storable(d)) || !Storable(s) {
				return false
			}
		}
	}
	return storableBody(r)
}

// storableBody checks an application/x-www-form-urlencoded body of at
// most guardBodyBytes.
//
// When the whole body parsed without any error, the parsed form becomes
// r.PostForm, exactly what the handler's own r.ParseForm would have made
// of the same bytes (every handler limits a form body to the same
// guardBodyBytes, and ParseForm leaves a set PostForm alone): the body is
// parsed once per request, not twice. Anything ParseForm would have
// refused (a malformed pair, a bad Content-Type parameter, a body over
// the limit) is left unparsed, so the handler's own ParseForm meets it and
// answers it as before. The body is put back in every case.
func storableBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return true
	}
	ct, _, ctErr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return true
	}
	buf, err := readAtMost(r.Body, guardBodyBytes+1, r.ContentLength)
	body := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), body), body}
	if err != nil || len(buf) > guardBodyBytes {
		return true // the handler's own limit and error answer it
	}
	form, perr := url.ParseQuery(string(buf)) // the pairs it could read, as above
	if !storableValues(form) {
		return false
	}
	if ctErr == nil && perr == nil && r.PostForm == nil {
		r.PostForm = form
	}
	return true
}

// readAtMost reads up to limit bytes of rd, like
// io.ReadAll(io.LimitReader(rd, limit)), into a buffer sized by the
// request's declared length (hint, -1 when unknown) when that is within
// limit, so a form body is read with one allocation rather than a
// doubling series.
func readAtMost(rd io.Reader, limit, hint int64) ([]byte, error) {
	size := int64(512)
	if hint >= 0 && hint < limit {
		size = hint + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, size)
	lr := io.LimitedReader{R: rd, N: limit}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// writeInvalidRequest answers an OAuth endpoint's request with bad
// characters (RFC 6749 §5.2: invalid_request, 400, no-store).
func writeInvalidRequest(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"error":"invalid_request","error_description":"a parameter contains a NUL byte or invalid UTF-8"}`)
}
