package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/clientpolicy"
)

// Problem types (RFC 9457 §3.1.1): URNs, stable and documented in the
// OpenAPI document.
const (
	probBadRequest   = "urn:monban:problem:bad-request"
	probUnauthorized = "urn:monban:problem:unauthorized"
	probInvalidToken = "urn:monban:problem:invalid-token"
	probForbidden    = "urn:monban:problem:insufficient-scope"
	probNotFound     = "urn:monban:problem:not-found"
	probConflict     = "urn:monban:problem:conflict"
	probPrecondition = "urn:monban:problem:precondition-failed"
	probTooLarge     = "urn:monban:problem:payload-too-large"
	probMediaType    = "urn:monban:problem:unsupported-media-type"
	probValidation   = "urn:monban:problem:validation"
	probUnavailable  = "urn:monban:problem:unavailable"
)

// titles are the problem types' short summaries (RFC 9457 §3.1.3).
var titles = map[string]string{
	probBadRequest:   "Bad request",
	probUnauthorized: "Authentication required",
	probInvalidToken: "Invalid access token",
	probForbidden:    "Insufficient scope",
	probNotFound:     "Not found",
	probConflict:     "Conflict",
	probPrecondition: "Precondition failed",
	probTooLarge:     "Request body too large",
	probMediaType:    "Unsupported media type",
	probValidation:   "Invalid object",
	probUnavailable:  "Service unavailable",
}

// Problem is a problem details object (RFC 9457 §3).
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem with one field of a refused object: the
// policy's neutral field name (storage.FieldError.Field; "" for the
// object as a whole), the rule's stable code and an English message.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeProblem(w http.ResponseWriter, status int, typ, detail string) {
	writeProblemDoc(w, Problem{Type: typ, Title: titles[typ], Status: status, Detail: detail})
}

func writeProblemDoc(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeInvalid answers 422 with every problem of fe.
func writeInvalid(w http.ResponseWriter, fe storage.FieldErrors) {
	p := Problem{Type: probValidation, Title: titles[probValidation], Status: http.StatusUnprocessableEntity,
		Detail: "The object breaks the rules listed in errors; nothing was changed."}
	for _, e := range fe {
		code := e.Code
		if code == "" {
			code = "policy.invalid"
		}
		p.Errors = append(p.Errors, FieldError{Field: e.Field, Code: code, Message: e.Message})
	}
	writeProblemDoc(w, p)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// invalid is a refused object carried out of an updater.
type invalid struct{ errs storage.FieldErrors }

func (e *invalid) Error() string { return "object refused: " + e.errs.Error() }

// forbidden is a change the caller's scopes may not make, carried out of
// an updater: the privilege rule of clientpolicy (CheckUserPrivilege,
// CheckClientPrivilege) refused it.
type forbidden struct{ errs storage.FieldErrors }

func (e *forbidden) Error() string { return "change refused: " + e.errs.Error() }

// writeForbidden answers 403 insufficient_scope (RFC 6750 §3.1) for a
// change that only the full-admin scope may make, with the privilege
// rule's problems naming the field; nothing was changed.
func writeForbidden(w http.ResponseWriter, fe storage.FieldErrors) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="monban", error="insufficient_scope", scope=%q`, clientpolicy.ScopeAdminWrite))
	p := Problem{Type: probForbidden, Title: titles[probForbidden], Status: http.StatusForbidden,
		Detail: "Only " + clientpolicy.ScopeAdminWrite + " may make this change (see errors); nothing was changed."}
	for _, e := range fe {
		p.Errors = append(p.Errors, FieldError{Field: e.Field, Code: e.Code, Message: e.Message})
	}
	writeProblemDoc(w, p)
}
