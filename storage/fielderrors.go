package storage

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a domain object (a user, a
// client), in neutral words: Field is the domain's name of the field
// (such as "username" or "redirect_uris"), never a command-line flag or
// a form label, and Message says what is wrong in a sentence that names
// no door. Each door presents it in its own way: the CLI prefixes its
// flag ("--redirect-uri: …"), the console shows the message next to the
// field. Field is empty for a problem of the object as a whole.
//
// Code names the rule that was broken with a stable catalog key (such as
// "policy.uri.https"), and Args the values its text needs ({{.Max}}):
// the web pages show the catalog's text in the reader's language, never
// Message, which is English for the CLI and the logs.
type FieldError struct {
	Field   string
	Code    string
	Args    map[string]any
	Message string
}

// Problem returns a FieldError without a field: a rule's code, its
// arguments and the English message formatted from format and a. Helpers
// that check one value return it; the caller files it under its field
// with FieldErrors.Put.
func Problem(code string, args map[string]any, format string, a ...any) FieldError {
	msg := format
	if len(a) > 0 {
		msg = fmt.Sprintf(format, a...)
	}
	return FieldError{Code: code, Args: args, Message: msg}
}

// IsZero reports whether e holds no problem (a helper found none).
func (e FieldError) IsZero() bool { return e.Code == "" && e.Message == "" }

// Error returns "field: message", or the message alone without a field.
func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// FieldErrors is every problem a policy found with an object, in the
// order it checked them; empty (nil) means the object is acceptable.
type FieldErrors []FieldError

// Error joins the problems, one per line.
func (es FieldErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns es as an error, or nil when there is no problem (a nil
// FieldErrors in an error interface would not be nil).
func (es FieldErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// ByField maps each field to its messages, in order.
func (es FieldErrors) ByField() map[string][]string {
	out := make(map[string][]string, len(es))
	for _, e := range es {
		out[e.Field] = append(out[e.Field], e.Message)
	}
	return out
}

// Add appends a problem with field that has no code of its own: pages
// show it as the generic "policy.invalid". Policies use Put.
func (es *FieldErrors) Add(field, message string) {
	*es = append(*es, FieldError{Field: field, Message: message})
}

// Put appends problem p (from Problem) under field; a zero p is skipped.
func (es *FieldErrors) Put(field string, p FieldError) {
	if p.IsZero() {
		return
	}
	p.Field = field
	*es = append(*es, p)
}
