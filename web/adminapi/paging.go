package adminapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Page sizes of the lists.
const (
	DefaultLimit = 50
	MaxLimit     = 200
	// maxCursor bounds a decoded cursor, in bytes.
	maxCursor = 512
)

// List is one page of a list: its items and the cursor of the next page
// (empty on the last page).
type List[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// page reads ?limit= and ?cursor= (opaque: base64url of the store's
// keyset position) or answers 400 and returns false.
func page(w http.ResponseWriter, r *http.Request) (limit int, after string, ok bool) {
	q := r.URL.Query()
	limit = DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			writeProblem(w, http.StatusBadRequest, probBadRequest, "limit must be a whole number from 1 to "+strconv.Itoa(MaxLimit)+".")
			return 0, "", false
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) == 0 || len(b) > maxCursor || !utf8.Valid(b) {
			writeProblem(w, http.StatusBadRequest, probBadRequest, "cursor is not one this API returned.")
			return 0, "", false
		}
		after = string(b)
	}
	return limit, after, true
}

// cursor is the opaque form of a keyset position.
func cursor(pos string) string { return base64.RawURLEncoding.EncodeToString([]byte(pos)) }

// trim cuts a page read with limit+1 rows to limit and reports whether
// there are more.
func trim[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}
