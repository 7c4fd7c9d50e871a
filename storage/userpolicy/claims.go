package userpolicy

import (
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // zoneinfo is checked against the IANA database even where the system has none
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/monban-idp/monban/storage"
)

// Fields of the standard claims (OIDC Core §5.1), the custom attributes
// and groups.
const (
	FieldMiddleName          = "middle_name"
	FieldNickname            = "nickname"
	FieldPreferredUsername   = "preferred_username"
	FieldProfile             = "profile"
	FieldPicture             = "picture"
	FieldWebsite             = "website"
	FieldGender              = "gender"
	FieldBirthdate           = "birthdate"
	FieldZoneinfo            = "zoneinfo"
	FieldLocale              = "locale"
	FieldPhoneNumber         = "phone_number"
	FieldAddress             = "address"
	FieldAttributes          = "attributes"
	FieldGroupName           = "group"
	FieldGroupDescription    = "description"
	MaxGroupDescriptionLen   = 500
	MaxURLLen                = 2000
	MaxAddressLen            = 500 // the formatted address; each other part MaxNameLen
	MaxAttributes            = 50
	MaxAttributeValues       = 100
	MaxAttributeValueLen     = 1000
	MaxGroupNameLen          = 100
	maxGenderLen             = 100
	maxAttributeKeyLenInRule = 64
)

var (
	// birthdate is YYYY, YYYY-MM-DD or 0000-MM-DD (OIDC Core §5.1: a
	// year of 0000 means the year is left out).
	birthdateRE = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$`)
	// e164 is an E.164 number with an optional RFC 3966 extension (OIDC
	// Core §5.1 phone_number).
	e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}(;ext=[0-9]{1,10})?$`)
	// attributeKeyRE is the name of a custom attribute.
	attributeKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.:-]{0,63}$`)
)

// validateClaims checks the standard claims beyond the names and e-mail
// address, the custom attributes, and reports each problem under its
// claim's name.
func validateClaims(u *storage.User) storage.FieldErrors {
	var errs storage.FieldErrors
	for _, f := range []struct {
		field, label, value string
		maxLen              int
	}{
		{FieldMiddleName, "middle name", u.MiddleName, MaxNameLen},
		{FieldNickname, "nickname", u.Nickname, MaxNameLen},
		{FieldPreferredUsername, "preferred username", u.PreferredUsername, MaxNameLen},
		{FieldGender, "gender", u.Gender, maxGenderLen},
	} {
		errs.Put(f.field, textProblem(f.label, f.value, f.maxLen))
	}
	for _, f := range []struct{ field, label, value string }{
		{FieldProfile, "profile URL", u.Profile},
		{FieldPicture, "picture URL", u.Picture},
		{FieldWebsite, "website URL", u.Website},
	} {
		errs.Put(f.field, urlProblem(f.label, f.value))
	}
	errs.Put(FieldBirthdate, birthdateProblem(u.Birthdate))
	if z := u.Zoneinfo; z != "" {
		if _, err := time.LoadLocation(z); err != nil || z == "Local" || !strings.Contains(z, "/") && z != "UTC" {
			errs.Put(FieldZoneinfo, storage.Problem("policy.user.zoneinfo", nil,
				"time zone %q is not an IANA time zone name such as Europe/Paris", shorten(z)))
		}
	}
	if l := u.Locale; l != "" {
		if _, err := language.Parse(l); err != nil || strings.Contains(l, "_") || len(l) > 35 {
			errs.Put(FieldLocale, storage.Problem("policy.user.locale", nil,
				"locale %q is not a BCP 47 language tag such as en-US", shorten(l)))
		}
	}
	if p := u.PhoneNumber; p != "" && !e164RE.MatchString(p) {
		errs.Put(FieldPhoneNumber, storage.Problem("policy.user.phone", nil,
			"phone number %q is not in E.164 form, such as +81312345678", shorten(p)))
	}
	errs = append(errs, addressProblems(u.Address)...)
	errs = append(errs, ValidateAttributes(u.Attributes)...)
	return errs
}

func urlProblem(label, s string) storage.FieldError {
	if s == "" {
		return storage.FieldError{}
	}
	if len(s) > MaxURLLen {
		return storage.Problem("policy.text.too_long_bytes", map[string]any{"Max": MaxURLLen},
			"%s is longer than %d bytes", label, MaxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return storage.Problem("policy.user.url", nil, "%s %q is not an http or https URL", label, shorten(s))
	}
	return storage.FieldError{}
}

func birthdateProblem(s string) storage.FieldError {
	if s == "" {
		return storage.FieldError{}
	}
	bad := storage.Problem("policy.user.birthdate", nil, "birthdate %q is not YYYY or YYYY-MM-DD", shorten(s))
	if !birthdateRE.MatchString(s) {
		return bad
	}
	if len(s) == 4 {
		if s == "0000" {
			return bad
		}
		return storage.FieldError{}
	}
	full := s
	if strings.HasPrefix(s, "0000-") {
		full = "2000" + s[4:] // any leap year: 0000-02-29 is a valid birthday
	}
	if _, err := time.Parse(time.DateOnly, full); err != nil {
		return bad
	}
	return storage.FieldError{}
}

func addressProblems(a storage.Address) storage.FieldErrors {
	var errs storage.FieldErrors
	// The formatted address may span lines (OIDC Core §5.1.1).
	f := strings.NewReplacer("\r\n", "", "\n", "").Replace(a.Formatted)
	errs.Put(FieldAddress, textProblem("formatted address", f, MaxAddressLen))
	for _, p := range []struct{ label, value string }{
		{"street address", a.StreetAddress}, {"locality", a.Locality}, {"region", a.Region},
		{"postal code", a.PostalCode}, {"country", a.Country},
	} {
		// street_address may span lines too.
		v := p.value
		if p.label == "street address" {
			v = strings.NewReplacer("\r\n", "", "\n", "").Replace(v)
		}
		errs.Put(FieldAddress, textProblem(p.label, v, MaxNameLen))
	}
	return errs
}

// AttributeKeyProblem describes what is wrong with the name of a custom
// attribute, or returns "": it starts with a letter and has at most 64
// letters, digits, '_', '.', ':' or '-'.
func AttributeKeyProblem(k string) string { return AttributeKeyRule(k).Message }

// AttributeKeyRule is AttributeKeyProblem with the rule's code, or a zero
// FieldError.
func AttributeKeyRule(k string) storage.FieldError {
	if !attributeKeyRE.MatchString(k) {
		return storage.Problem("policy.user.attribute_name", map[string]any{"Name": shorten(k), "Max": maxAttributeKeyLenInRule},
			"attribute name %q must start with a letter and hold at most %d letters, digits, '_', '.', ':' or '-'",
			shorten(k), maxAttributeKeyLenInRule)
	}
	return storage.FieldError{}
}

// ValidateAttributes checks custom attributes: at most MaxAttributes,
// valid names, a single value or at most MaxAttributeValues values, each
// text of at most MaxAttributeValueLen characters.
func ValidateAttributes(attrs map[string]storage.AttributeValue) storage.FieldErrors {
	var errs storage.FieldErrors
	if len(attrs) > MaxAttributes {
		errs.Put(FieldAttributes, storage.Problem("policy.user.attributes_too_many", map[string]any{"Max": MaxAttributes},
			"at most %d attributes", MaxAttributes))
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[k]
		if p := AttributeKeyRule(k); !p.IsZero() {
			errs.Put(FieldAttributes, p)
			continue
		}
		switch {
		case !v.List && len(v.Values) != 1:
			errs.Put(FieldAttributes, storage.Problem("policy.user.attribute_one_value", map[string]any{"Name": k},
				"attribute %q must have one value", k))
		case len(v.Values) > MaxAttributeValues:
			errs.Put(FieldAttributes, storage.Problem("policy.user.attribute_values_too_many",
				map[string]any{"Name": k, "Max": MaxAttributeValues}, "attribute %q has more than %d values", k, MaxAttributeValues))
		}
		for _, s := range v.Values {
			if p := textProblem("attribute "+k, s, MaxAttributeValueLen); !p.IsZero() {
				errs.Put(FieldAttributes, p)
				break
			}
		}
	}
	return errs
}

// GroupNameProblem describes what is wrong with a group name, or returns
// "": it is required, at most MaxGroupNameLen characters of valid UTF-8,
// without control characters or white space at either end.
func GroupNameProblem(s string) string { return GroupNameRule(s).Message }

// GroupNameRule is GroupNameProblem with the rule's code, or a zero
// FieldError.
func GroupNameRule(s string) storage.FieldError {
	switch {
	case s == "":
		return storage.Problem("policy.required", nil, "a group name is required")
	case !utf8.ValidString(s):
		return storage.Problem("policy.text.not_utf8", nil, "group name is not valid UTF-8")
	case utf8.RuneCountInString(s) > MaxGroupNameLen:
		return storage.Problem("policy.text.too_long", map[string]any{"Max": MaxGroupNameLen},
			"group name is longer than %d characters", MaxGroupNameLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return storage.Problem("policy.text.control", nil, "group name %q must not contain control characters", s)
	case strings.TrimSpace(s) != s:
		return storage.Problem("policy.text.edge_space", nil, "group name %q must not start or end with white space", s)
	}
	return storage.FieldError{}
}

// ValidateGroup checks a group to be created or renamed.
func ValidateGroup(g *storage.Group) storage.FieldErrors {
	var errs storage.FieldErrors
	errs.Put(FieldGroupName, GroupNameRule(g.Name))
	errs.Put(FieldGroupDescription, groupDescriptionRule(g.Description))
	return errs
}

// groupDescriptionRule checks a group's description: optional, one line
// of readable text.
func groupDescriptionRule(s string) storage.FieldError {
	switch {
	case !utf8.ValidString(s):
		return storage.Problem("policy.text.not_utf8", nil, "group description is not valid UTF-8")
	case utf8.RuneCountInString(s) > MaxGroupDescriptionLen:
		return storage.Problem("policy.text.too_long", map[string]any{"Max": MaxGroupDescriptionLen},
			"group description is longer than %d characters", MaxGroupDescriptionLen)
	case strings.ContainsFunc(s, unicode.IsControl):
		return storage.Problem("policy.text.control", nil, "group description %q must not contain control characters", shorten(s))
	}
	return storage.FieldError{}
}

// shorten cuts a value quoted in a message to a readable length.
func shorten(s string) string {
	if utf8.RuneCountInString(s) <= 60 {
		return s
	}
	return string([]rune(s)[:60]) + "…"
}
