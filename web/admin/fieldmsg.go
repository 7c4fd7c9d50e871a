package admin

import (
	"context"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
)

// fieldRules names, per field of the user and group forms, the catalog
// key that states the field's rule in the page's language; the policy
// packages' own messages are English and never reach a page in another.
var fieldRules = map[string]string{
	"username":           "admin.err.username",
	"email":              "admin.err.email",
	"name":               "admin.err.text",
	"given_name":         "admin.err.text",
	"middle_name":        "admin.err.text",
	"family_name":        "admin.err.text",
	"nickname":           "admin.err.text",
	"preferred_username": "admin.err.text",
	"gender":             "admin.err.text",
	"profile":            "admin.err.url",
	"picture":            "admin.err.url",
	"website":            "admin.err.url",
	"birthdate":          "admin.err.birthdate",
	"zoneinfo":           "admin.err.zoneinfo",
	"locale":             "admin.err.locale",
	"phone_number":       "admin.err.phone",
	"address_formatted":  "admin.err.address",
	"group":              "admin.err.group",
	"":                   "admin.err.invalid",
}

// ruleMessages turns policy problems filed by form field into the
// fields' rules in the page's language, one per field.
func ruleMessages(ctx context.Context, errs map[string][]string) map[string][]string {
	out := make(map[string][]string, len(errs))
	for field := range errs {
		key, ok := fieldRules[field]
		if !ok {
			key = fieldRules[""]
		}
		out[field] = []string{i18n.T(ctx, key)}
	}
	return out
}

// groupRule is the group name's rule in the page's language.
func groupRule(ctx context.Context, fe storage.FieldErrors) []string {
	if len(fe) == 0 {
		return nil
	}
	return []string{i18n.T(ctx, fieldRules["group"])}
}
