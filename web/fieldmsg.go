package web

import (
	"context"
	"strings"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/web/i18n"
)

// FieldMessage states policy problem e in the language of ctx: the
// catalog's text for e.Code filled with e.Args. A problem without a code,
// or with one the catalog lacks, reads as the generic "policy.invalid",
// so a Japanese page never shows the policy's English Message.
func FieldMessage(ctx context.Context, e storage.FieldError) string {
	const generic = "policy.invalid"
	key := e.Code
	if key == "" || !strings.HasPrefix(key, "policy.") {
		key = generic
	}
	args := make([]any, 0, 2*len(e.Args))
	for k, v := range e.Args {
		args = append(args, k, v)
	}
	s := i18n.T(ctx, key, args...)
	if strings.HasPrefix(s, i18n.MissingPrefix) {
		return i18n.T(ctx, generic)
	}
	return s
}

// FieldMessages states every problem of es in the language of ctx (see
// FieldMessage), filed by field in the order the policy found them.
func FieldMessages(ctx context.Context, es storage.FieldErrors) map[string][]string {
	out := make(map[string][]string, len(es))
	for _, e := range es {
		out[e.Field] = append(out[e.Field], FieldMessage(ctx, e))
	}
	return out
}
