package main

import (
	"flag"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

// userFlags are the user attributes "user add" and "user update" share:
// the standard claims (OIDC Core §5.1) and custom attributes. Only the
// flags given change a user.
type userFlags struct {
	fs            *flag.FlagSet
	text          map[string]*string // flag name → value, for the text claims
	emailVerified *bool
	phoneVerified *bool
	attrs, lists  stringList
	removeAttrs   stringList
}

// userTextFlags maps each text flag to the field it sets.
var userTextFlags = []struct {
	flag, usage string
	field       func(u *storage.User) *string
}{
	{"email", "e-mail `address`", func(u *storage.User) *string { return &u.Email }},
	{"name", "full display `name`", func(u *storage.User) *string { return &u.Name }},
	{"given-name", "given `name`", func(u *storage.User) *string { return &u.GivenName }},
	{"family-name", "family `name`", func(u *storage.User) *string { return &u.FamilyName }},
	{"middle-name", "middle `name`", func(u *storage.User) *string { return &u.MiddleName }},
	{"nickname", "`nickname`", func(u *storage.User) *string { return &u.Nickname }},
	{"preferred-username", "preferred_username claim (default: the username)", func(u *storage.User) *string { return &u.PreferredUsername }},
	{"profile", "profile page `URL`", func(u *storage.User) *string { return &u.Profile }},
	{"picture", "picture `URL`", func(u *storage.User) *string { return &u.Picture }},
	{"website", "website `URL`", func(u *storage.User) *string { return &u.Website }},
	{"gender", "`gender`", func(u *storage.User) *string { return &u.Gender }},
	{"birthdate", "`YYYY-MM-DD` or YYYY", func(u *storage.User) *string { return &u.Birthdate }},
	{"zoneinfo", "IANA time `zone`, e.g. Europe/Paris", func(u *storage.User) *string { return &u.Zoneinfo }},
	{"locale", "BCP 47 `tag`, e.g. en-US", func(u *storage.User) *string { return &u.Locale }},
	{"phone-number", "E.164 `number`, e.g. +81312345678", func(u *storage.User) *string { return &u.PhoneNumber }},
	{"address-formatted", "full postal `address` (\\n for new lines)", func(u *storage.User) *string { return &u.Address.Formatted }},
	{"address-street", "street `address`", func(u *storage.User) *string { return &u.Address.StreetAddress }},
	{"address-locality", "city or `locality`", func(u *storage.User) *string { return &u.Address.Locality }},
	{"address-region", "state or `region`", func(u *storage.User) *string { return &u.Address.Region }},
	{"address-postal-code", "postal `code`", func(u *storage.User) *string { return &u.Address.PostalCode }},
	{"address-country", "`country`", func(u *storage.User) *string { return &u.Address.Country }},
}

func addUserFlags(fs *flag.FlagSet) *userFlags {
	f := &userFlags{fs: fs, text: map[string]*string{}}
	for _, t := range userTextFlags {
		f.text[t.flag] = fs.String(t.flag, "", t.usage)
	}
	f.emailVerified = fs.Bool("email-verified", false, "the e-mail address is verified (email_verified)")
	f.phoneVerified = fs.Bool("phone-number-verified", false, "the phone number is verified")
	fs.Var(&f.attrs, "attribute", "custom attribute `KEY=VALUE` (repeatable)")
	fs.Var(&f.lists, "attribute-list", "custom list attribute `KEY=V1,V2` (repeatable; KEY= for an empty list)")
	fs.Var(&f.removeAttrs, "remove-attribute", "remove the custom attribute `KEY` (repeatable)")
	return f
}

// apply copies the given flags into u. A malformed --attribute is a
// usage error.
func (f *userFlags) apply(u *storage.User) error {
	set := flagsSet(f.fs)
	for _, t := range userTextFlags {
		if set[t.flag] {
			v := *f.text[t.flag]
			if t.flag == "address-formatted" {
				v = strings.ReplaceAll(v, `\n`, "\n")
			}
			*t.field(u) = v
		}
	}
	if set["email-verified"] {
		u.EmailVerified = *f.emailVerified
	}
	if set["phone-number-verified"] {
		u.PhoneNumberVerified = *f.phoneVerified
	}
	for _, k := range f.removeAttrs {
		delete(u.Attributes, k)
	}
	put := func(k string, v storage.AttributeValue) {
		if u.Attributes == nil {
			u.Attributes = map[string]storage.AttributeValue{}
		}
		u.Attributes[k] = v
	}
	for _, a := range f.attrs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usagef("--attribute %q: want KEY=VALUE", a)
		}
		put(k, storage.StringAttribute(v))
	}
	for _, a := range f.lists {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usagef("--attribute-list %q: want KEY=V1,V2", a)
		}
		var vals []string
		if v != "" {
			vals = strings.Split(v, ",")
		}
		put(k, storage.ListAttribute(vals...))
	}
	return nil
}

// userClaimFlagOf names the flag of each field userpolicy reports on.
var userClaimFlagOf = func() map[string]string {
	m := map[string]string{
		userpolicy.FieldGivenName: "--given-name", userpolicy.FieldFamilyName: "--family-name",
		userpolicy.FieldMiddleName: "--middle-name", userpolicy.FieldNickname: "--nickname",
		userpolicy.FieldPreferredUsername: "--preferred-username", userpolicy.FieldProfile: "--profile",
		userpolicy.FieldPicture: "--picture", userpolicy.FieldWebsite: "--website", userpolicy.FieldGender: "--gender",
		userpolicy.FieldBirthdate: "--birthdate", userpolicy.FieldZoneinfo: "--zoneinfo", userpolicy.FieldLocale: "--locale",
		userpolicy.FieldPhoneNumber: "--phone-number", userpolicy.FieldAddress: "--address-…",
		userpolicy.FieldAttributes: "--attribute",
	}
	for k, v := range userFlagOf {
		m[k] = v
	}
	return m
}()
