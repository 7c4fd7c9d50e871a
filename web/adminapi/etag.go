package adminapi

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// etag is the strong entity tag (RFC 9110 §8.8.3) of an object's stored
// representation v: a hash of its JSON, secrets' hashes and UpdatedAt
// included, so every stored change gives a new tag.
func etag(v any) string {
	b, _ := json.Marshal(v) // the storage types always marshal
	sum := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}

// errStale aborts a change whose If-Match names another version.
var errStale = errors.New("if-match: stale version")

// ifMatch returns the request's If-Match tags, or nil when it has none
// (RFC 9110 §13.1.1); "*" matches any current version.
func ifMatch(r *http.Request) []string {
	v := r.Header.Values("If-Match")
	if len(v) == 0 {
		return nil
	}
	var tags []string
	for _, h := range v {
		for _, t := range strings.Split(h, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	return tags
}

// checkMatch returns errStale unless tags is nil, holds "*" or holds
// current (strong comparison: a weak tag never matches).
func checkMatch(tags []string, current string) error {
	if tags == nil {
		return nil
	}
	for _, t := range tags {
		if t == "*" || t == current {
			return nil
		}
	}
	return errStale
}

func writeStale(w http.ResponseWriter) {
	writeProblem(w, http.StatusPreconditionFailed, probPrecondition,
		"The object changed since the version named in If-Match; read it again and retry.")
}
