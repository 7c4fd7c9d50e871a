package userpolicy

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/password"
)

// Limits on user attributes, in characters (e-mail: bytes, RFC 5321
// §4.5.3.1.3 bounds a path to 256 octets).
const (
	MaxUsernameLen = 100
	MaxNameLen     = 200
	MaxEmailLen    = 254
)

// ServiceName is the context word every password is checked against
// besides the user's own attributes (checklist S13).
const ServiceName = "monban"

// The fields a storage.FieldError of this package names: the claim names
// of OIDC Core §5.1 where there is one.
const (
	FieldUsername   = "username"
	FieldEmail      = "email"
	FieldName       = "name"
	FieldGivenName  = "given_name"
	FieldFamilyName = "family_name"
	FieldPassword   = "password"
	FieldAdmin      = "admin"
)

// ValidateUser checks the attributes of a user to be created or as
// changed: the standard claims and custom attributes (validateClaims:
// URLs http(s), birthdate YYYY or YYYY-MM-DD, zoneinfo an IANA zone,
// locale a BCP 47 tag, phone number E.164); the username is required, has at most MaxUsernameLen
// characters and no white space or control characters; the names have
// at most MaxNameLen characters; the e-mail address is empty or a bare
// addr-spec (name@example.com) of at most MaxEmailLen bytes. No field may
// hold invalid UTF-8 or control characters (NUL included: PostgreSQL
// cannot store it). It does not look at the password hash or the flags.
func ValidateUser(u *storage.User) storage.FieldErrors {
	var errs storage.FieldErrors
	switch s := u.Username; {
	case s == "":
		errs.Add(FieldUsername, "a username is required")
	case !utf8.ValidString(s):
		errs.Add(FieldUsername, "username is not valid UTF-8")
	case utf8.RuneCountInString(s) > MaxUsernameLen:
		errs.Add(FieldUsername, fmt.Sprintf("username is longer than %d characters", MaxUsernameLen))
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		errs.Add(FieldUsername, fmt.Sprintf("username %q must not contain white space or control characters", s))
	}
	for _, f := range []struct{ field, label, value string }{
		{FieldName, "name", u.Name},
		{FieldGivenName, "given name", u.GivenName},
		{FieldFamilyName, "family name", u.FamilyName},
	} {
		if m := textProblem(f.label, f.value, MaxNameLen); m != "" {
			errs.Add(f.field, m)
		}
	}
	if m := emailProblem(u.Email); m != "" {
		errs.Add(FieldEmail, m)
	}
	return append(errs, validateClaims(u)...)
}

// textProblem describes what is wrong with an optional free-text value,
// or returns "".
func textProblem(label, s string, maxLen int) string {
	switch {
	case !utf8.ValidString(s):
		return label + " is not valid UTF-8"
	case utf8.RuneCountInString(s) > maxLen:
		return fmt.Sprintf("%s is longer than %d characters", label, maxLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Sprintf("%s %q must not contain control characters", label, s)
	}
	return ""
}

// emailProblem describes what is wrong with an optional e-mail address,
// or returns "".
func emailProblem(s string) string {
	if s == "" {
		return ""
	}
	if m := textProblem("e-mail address", s, MaxEmailLen); m != "" {
		return m
	}
	if len(s) > MaxEmailLen {
		return fmt.Sprintf("e-mail address is longer than %d bytes", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return fmt.Sprintf("e-mail address %q is not valid (want name@example.com)", s)
	}
	return ""
}

// CheckPassword reports whether pw may become u's password: the rules of
// password.CheckPolicy (length, blocklist, patterns), with the user's own
// username, e-mail address (and its local part), names and ServiceName as
// the words a password must not be built from; and no control
// characters, which no keyboard types into a password field. u holds the
// attributes the user has, or will have once created.
func CheckPassword(pw string, u *storage.User) storage.FieldErrors {
	var errs storage.FieldErrors
	if utf8.ValidString(pw) && strings.ContainsFunc(pw, unicode.IsControl) {
		errs.Add(FieldPassword, "password must not contain control characters (such as a line break or tab)")
		return errs
	}
	if err := password.CheckPolicy(pw, ContextWords(u)...); err != nil {
		errs.Add(FieldPassword, err.Error())
	}
	return errs
}

// ContextWords are the words a password of u must not be built from: the
// username, the e-mail address and its local part, the names, and
// ServiceName (checklist S13; NIST SP 800-63B-4 §3.1.1.2).
func ContextWords(u *storage.User) []string {
	words := []string{ServiceName}
	for _, w := range []string{u.Username, u.Email, u.Name, u.GivenName, u.FamilyName} {
		if w != "" {
			words = append(words, w)
		}
	}
	if local, _, ok := strings.Cut(u.Email, "@"); ok && local != "" {
		words = append(words, local)
	}
	return words
}

// CheckAccessChange reports whether the administrator actorID may change
// the access of user targetID (disable or enable, grant or revoke admin,
// sign out everywhere). Nobody changes their own access: an administrator
// who locked themselves out, or took away the last admin role by
// mistake, could not undo it. A password is not access: everyone may set
// their own. The CLI acts with the operator's shell access, not as a
// user, and passes an empty actorID, which is always allowed.
func CheckAccessChange(actorID, targetID string) storage.FieldErrors {
	if actorID == "" || actorID != targetID {
		return nil
	}
	return storage.FieldErrors{{Field: FieldAdmin, Message: "administrators cannot change their own access; ask another administrator"}}
}
