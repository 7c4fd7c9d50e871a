package userpolicy_test

import (
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/userpolicy"
)

func TestValidateUserClaims(t *testing.T) {
	tests := []struct {
		name      string
		change    func(u *storage.User)
		wantField string // "" when valid
	}{
		{"all set and valid", func(u *storage.User) {
			u.Profile, u.Picture, u.Website = "https://example.com/p", "http://example.com/a.png", "https://example.com"
			u.Birthdate, u.Zoneinfo, u.Locale, u.PhoneNumber = "1990-12-31", "Asia/Tokyo", "ja-JP", "+81312345678"
			u.Address = storage.Address{Formatted: "1 Main St\nTown", Country: "JP"}
			u.Attributes = map[string]storage.AttributeValue{"dept": storage.StringAttribute("R&D"), "roles": storage.ListAttribute("a", "b")}
		}, ""},
		{"birthdate year only", func(u *storage.User) { u.Birthdate = "1990" }, ""},
		{"birthdate without year", func(u *storage.User) { u.Birthdate = "0000-02-29" }, ""},
		{"birthdate not a date", func(u *storage.User) { u.Birthdate = "1990-02-30" }, userpolicy.FieldBirthdate},
		{"birthdate in another form", func(u *storage.User) { u.Birthdate = "31/12/1990" }, userpolicy.FieldBirthdate},
		{"profile not http", func(u *storage.User) { u.Profile = "javascript:alert(1)" }, userpolicy.FieldProfile},
		{"picture without host", func(u *storage.User) { u.Picture = "https:///x.png" }, userpolicy.FieldPicture},
		{"website relative", func(u *storage.User) { u.Website = "/me" }, userpolicy.FieldWebsite},
		{"zoneinfo unknown", func(u *storage.User) { u.Zoneinfo = "Mars/Olympus" }, userpolicy.FieldZoneinfo},
		{"zoneinfo Local", func(u *storage.User) { u.Zoneinfo = "Local" }, userpolicy.FieldZoneinfo},
		{"zoneinfo UTC", func(u *storage.User) { u.Zoneinfo = "UTC" }, ""},
		{"locale with underscore", func(u *storage.User) { u.Locale = "en_US" }, userpolicy.FieldLocale},
		{"locale not a tag", func(u *storage.User) { u.Locale = "english please" }, userpolicy.FieldLocale},
		{"phone without plus", func(u *storage.User) { u.PhoneNumber = "0312345678" }, userpolicy.FieldPhoneNumber},
		{"phone with extension", func(u *storage.User) { u.PhoneNumber = "+14155550100;ext=12" }, ""},
		{"address with a control character", func(u *storage.User) { u.Address.Locality = "a\x00b" }, userpolicy.FieldAddress},
		{"attribute name bad", func(u *storage.User) {
			u.Attributes = map[string]storage.AttributeValue{"1x": storage.StringAttribute("v")}
		}, userpolicy.FieldAttributes},
		{"attribute value too long", func(u *storage.User) {
			u.Attributes = map[string]storage.AttributeValue{"x": storage.StringAttribute(strings.Repeat("v", 1001))}
		}, userpolicy.FieldAttributes},
		{"nickname with a line break", func(u *storage.User) { u.Nickname = "a\nb" }, userpolicy.FieldNickname},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := &storage.User{Username: "alice"}
			tc.change(u)
			errs := userpolicy.ValidateUser(u)
			if tc.wantField == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tc.wantField {
				t.Fatalf("want one problem with %s, got %v", tc.wantField, errs)
			}
		})
	}
}

func TestGroupNameProblem(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "staff", true},
		{"kubernetes style", "system:masters", true},
		{"inner space", "Sales Team", true},
		{"empty", "", false},
		{"leading space", " staff", false},
		{"control", "st\taff", false},
		{"too long", strings.Repeat("g", 101), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := userpolicy.GroupNameProblem(tc.in) == ""; got != tc.ok {
				t.Errorf("GroupNameProblem(%q) ok = %v, want %v", tc.in, got, tc.ok)
			}
		})
	}
}
