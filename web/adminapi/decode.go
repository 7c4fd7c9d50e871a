package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
)

// MaxBody bounds a request body, in bytes.
const MaxBody = 64 << 10

// decode reads r's body into v strictly: Content-Type application/json
// (415 otherwise), at most MaxBody bytes (413), one JSON value, no
// unknown field (400). It answers and returns false on a problem. With
// optional, an empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any, optional bool) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeProblem(w, http.StatusRequestEntityTooLarge, probTooLarge, "The request body is larger than 64 KiB.")
		return false
	} else if err != nil {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "The request body could not be read.")
		return false
	}
	if len(body) == 0 && optional {
		return true
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeProblem(w, http.StatusUnsupportedMediaType, probMediaType, "Send the body as Content-Type: application/json.")
		return false
	}
	// PostgreSQL cannot store NUL; refused here as bad input, never sent
	// to the store.
	if bytes.Contains(bytes.ToLower(body), []byte(`\u0000`)) {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "The body contains a NUL character.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, probBadRequest, decodeDetail(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeProblem(w, http.StatusBadRequest, probBadRequest, "The body must hold exactly one JSON value.")
		return false
	}
	return true
}

// decodeDetail says what is wrong with a body in words of our own (the
// field name of an unknown field, the position of a syntax error).
func decodeDetail(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "The body is not valid JSON."
	case errors.As(err, &typ):
		if typ.Field != "" {
			return "The field " + typ.Field + " has the wrong type (want " + typ.Type.String() + ")."
		}
		return "The body must be a JSON object."
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "The body is empty or cut short."
	}
	const unknown = "json: unknown field "
	if s := err.Error(); len(s) > len(unknown) && s[:len(unknown)] == unknown {
		return "Unknown field " + s[len(unknown):] + "; see the OpenAPI document for the fields."
	}
	return "The body does not match the expected object."
}
