package op

import (
	"reflect"
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	zop "github.com/zitadel/oidc/v3/pkg/op"
	"github.com/zitadel/schema"
)

// directTypes are the request structs formDecoder fills itself.
func directTypes() map[string]func() any {
	return map[string]func() any{
		"ClientCredentials":        func() any { return new(zop.ClientCredentials) },
		"ClientCredentialsRequest": func() any { return new(oidc.ClientCredentialsRequest) },
		"RefreshTokenRequest":      func() any { return new(oidc.RefreshTokenRequest) },
		"AccessTokenRequest":       func() any { return new(oidc.AccessTokenRequest) },
		"IntrospectionRequest":     func() any { return new(oidc.IntrospectionRequest) },
		"RevocationRequest":        func() any { return new(oidc.RevocationRequest) },
		"UserInfoRequest":          func() any { return new(oidc.UserInfoRequest) },
	}
}

// schemaAliases lists the form keys of a struct's schema tags.
func schemaAliases(t *testing.T, dst any) []string {
	t.Helper()
	var keys []string
	rt := reflect.TypeOf(dst).Elem()
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag := f.Tag.Get("schema")
		if tag == "" || tag == "-" {
			t.Fatalf("%s.%s has no schema tag: formDecoder does not handle it", rt.Name(), f.Name)
		}
		if strings.Contains(tag, "default:") || strings.Contains(tag, "required") {
			t.Fatalf("%s.%s has a default or required tag: formDecoder does not handle it", rt.Name(), f.Name)
		}
		keys = append(keys, strings.Split(tag, ",")[0])
	}
	return keys
}

func referenceDecoder() *schema.Decoder {
	d := schema.NewDecoder()
	d.IgnoreUnknownKeys(true)
	return d
}

// TestFormDecoderMatchesSchema decodes each direct struct with formDecoder
// and with zitadel/schema (the router's default decoder) and wants the same
// result and error, for a form that sets every tagged field (so a field a
// later zitadel adds is caught) and for the edge cases of the reference's
// rules.
func TestFormDecoderMatchesSchema(t *testing.T) {
	ours, ref := newFormDecoder(), referenceDecoder()
	for name, mk := range directTypes() {
		aliases := schemaAliases(t, mk())
		every := map[string][]string{}
		for i, a := range aliases {
			every[a] = []string{"first", "v" + strings.Repeat("x", i) + " two  spaces"}
		}
		upper := map[string][]string{}
		for _, a := range aliases {
			upper[strings.ToUpper(a)] = []string{"U-" + a}
		}
		emptyLast := map[string][]string{}
		for _, a := range aliases {
			emptyLast[a] = []string{"set", ""}
		}
		noValues := map[string][]string{}
		for _, a := range aliases {
			noValues[a] = nil
		}
		for _, tc := range []struct {
			name string
			src  map[string][]string
		}{
			{"every field, repeated values", every},
			{"upper-case keys", upper},
			{"empty last value", emptyLast},
			{"keys without values", noValues},
			{"empty form", map[string][]string{}},
			{"unknown and dotted keys", map[string][]string{"nope": {"x"}, aliases[0] + ".0": {"y"}, "scope.1": {"z"}}},
			{"Kelvin sign folds to k", map[string][]string{"to\u212aen": {"kelvin"}, "client_\u212aey": {"x"}}},
			{"scope edge cases", map[string][]string{"scope": {" a  b "}, "grant_type": {"client_credentials"}}},
			{"empty scope", map[string][]string{"scope": {""}}},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				got, want := mk(), mk()
				gerr, werr := ours.Decode(got, tc.src), ref.Decode(want, tc.src)
				if (gerr == nil) != (werr == nil) {
					t.Fatalf("error %v, zitadel/schema %v", gerr, werr)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decoded %+v, zitadel/schema %+v", got, want)
				}
			})
		}
	}
}

// TestFormDecoderFallsBack sends every other type to zitadel/schema.
func TestFormDecoderFallsBack(t *testing.T) {
	src := map[string][]string{"assertion": {"a.b.c"}, "scope": {"openid email"}, "unknown": {"x"}}
	got, want := new(oidc.JWTProfileGrantRequest), new(oidc.JWTProfileGrantRequest)
	if err := newFormDecoder().Decode(got, src); err != nil {
		t.Fatal(err)
	}
	if err := referenceDecoder().Decode(want, src); err != nil {
		t.Fatal(err)
	}
	if got.Assertion != "a.b.c" || !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v, want %+v", got, want)
	}
}
