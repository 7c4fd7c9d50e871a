package storagetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
)

// t0 is the suite's reference instant: UTC, microsecond precision.
var t0 = time.Date(2030, time.March, 14, 15, 9, 26, 535897000, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

// mustOK fails the test now if err is not nil.
func mustOK(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", fmt.Sprintf(format, args...), err)
	}
}

// wantErr fails the test if err does not wrap target.
func wantErr(t *testing.T, err, target error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want one wrapping %v", fmt.Sprintf(format, args...), err, target)
	}
}

// assertEqual reports every field where got differs from want. Times are
// compared with Equal, nil and empty slices are equal, pointers are compared
// by what they point to.
func assertEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	var diffs []string
	diff("", reflect.ValueOf(want), reflect.ValueOf(got), &diffs)
	if len(diffs) > 0 {
		t.Errorf("%s differs from what was stored:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diff(path string, want, got reflect.Value, out *[]string) {
	if want.Type() != got.Type() {
		*out = append(*out, fmt.Sprintf("%s: type %s, want %s", path, got.Type(), want.Type()))
		return
	}
	if want.Type() == timeType {
		w, g := want.Interface().(time.Time), got.Interface().(time.Time)
		if !w.Equal(g) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
		return
	}
	switch want.Kind() {
	case reflect.Pointer:
		switch {
		case want.IsNil() && got.IsNil():
		case want.IsNil() || got.IsNil():
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want)))
		default:
			diff(path, want.Elem(), got.Elem(), out)
		}
	case reflect.Struct:
		for i := range want.NumField() {
			f := want.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			diff(strings.TrimPrefix(path+"."+f.Name, "."), want.Field(i), got.Field(i), out)
		}
	case reflect.Slice:
		if want.Len() != got.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, got.Interface(), want.Interface()))
			return
		}
		for i := range want.Len() {
			diff(fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i), out)
		}
	default:
		if !reflect.DeepEqual(want.Interface(), got.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: got %#v, want %#v", path, got.Interface(), want.Interface()))
		}
	}
}

func show(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	return fmt.Sprintf("&%v", v.Elem().Interface())
}

// sorted returns a sorted copy of s, for comparing unordered results.
func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// assertStrings compares string slices, treating nil and empty as equal.
func assertStrings(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !slices.Equal(want, got) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// Fixtures. Every field is set to a distinct non-zero value, so a backend
// that drops or swaps a column fails the round trip.

func newUser(id, username string) *storage.User {
	return &storage.User{
		ID:            id,
		Username:      username,
		Email:         username + "@example.test",
		EmailVerified: true,
		Name:          "Name of " + username,
		GivenName:     "Given " + username,
		FamilyName:    "Family " + username,
		PasswordHash:  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		Disabled:      false,
		Admin:         true,
		CreatedAt:     at(-48 * time.Hour),
		UpdatedAt:     at(-24 * time.Hour),

		MiddleName:          "Middle " + username,
		Nickname:            "Nick " + username,
		PreferredUsername:   "pref-" + username,
		Profile:             "https://example.test/~" + username,
		Picture:             "https://example.test/" + username + ".png",
		Website:             "https://" + username + ".example.test/",
		Gender:              "gender of " + username,
		Birthdate:           "1990-04-01",
		Zoneinfo:            "Asia/Tokyo",
		Locale:              "ja-JP",
		PhoneNumber:         "+81312345678",
		PhoneNumberVerified: true,
		Address: storage.Address{Formatted: "1 Main St\nTown", StreetAddress: "1 Main St", Locality: "Town",
			Region: "Region", PostalCode: "100-0001", Country: "JP"},
		Attributes: map[string]storage.AttributeValue{
			"department": storage.StringAttribute("dept of " + username),
			"roles":      storage.ListAttribute("reader", "writer"),
		},
	}
}

func newClient(id string) *storage.Client {
	return &storage.Client{
		ID:                               id,
		Name:                             "Client " + id,
		SecretHash:                       storage.HashToken("secret-" + id),
		AuthMethod:                       storage.AuthMethodBasic,
		ApplicationType:                  storage.ApplicationWeb,
		RedirectURIs:                     []string{"https://" + id + ".test/cb", "https://" + id + ".test/cb2"},
		PostLogoutRedirectURIs:           []string{"https://" + id + ".test/bye"},
		GrantTypes:                       []string{"authorization_code", "refresh_token"},
		Scopes:                           []string{"openid", "profile", "email", "offline_access"},
		RequireConsent:                   true,
		RequireMFA:                       true,
		IDTokenSigningAlg:                "ES256",
		AccessTokenTTL:                   5 * time.Minute,
		IDTokenTTL:                       10 * time.Minute,
		RefreshTokenTTL:                  72 * time.Hour,
		BackchannelLogoutURI:             "https://" + id + ".test/backchannel",
		BackchannelLogoutSessionRequired: true,
		Disabled:                         false,
		CreatedAt:                        at(-72 * time.Hour),
		UpdatedAt:                        at(-36 * time.Hour),
		AllowedGroups:                    []string{"group-of-" + id, "other-of-" + id},
		ClaimMappings:                    []storage.ClaimMapping{{Attribute: "department", Claim: "dept", Scope: "profile"}},
		JWKS:                             `{"keys":[]}`,
		JWKSURI:                          "https://" + id + ".test/jwks",
		RequirePAR:                       true,
		DPoPBoundAccessTokens:            true,
		TokenExchangeAudiences:           []string{"https://api-of-" + id + ".test"},
		RegistrationTokenHash:            "registration-hash-of-" + id,
		Managed:                          true,
		OmitRefreshIDToken:               true,
	}
}

// newAuthRequest returns a pending (unauthenticated, code-less) request.
func newAuthRequest(id, clientID string) *storage.AuthRequest {
	return &storage.AuthRequest{
		ID:                  id,
		ClientID:            clientID,
		RedirectURI:         "https://" + clientID + ".test/cb",
		Scopes:              []string{"openid", "profile"},
		State:               "state-" + id,
		Nonce:               "nonce-" + id,
		ResponseMode:        "query",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login", "consent"},
		MaxAge:              ptr(300 * time.Second),
		LoginHint:           "hint-" + id,
		UILocales:           []string{"ja", "en"},
		HintSubject:         "sub-" + id,
		ACR:                 "urn:monban:acr:mfa",
		Claims:              storage.RequestedClaims{IDToken: []string{"email"}, UserInfo: []string{"name", "groups"}},
		DPoPJKT:             "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
		CreatedAt:           at(-time.Minute),
		ExpiresAt:           at(30 * time.Minute),
	}
}

func newSession(id, userID string, created time.Time) *storage.Session {
	return &storage.Session{
		ID:         id,
		TokenHash:  storage.HashToken("session-" + id),
		UserID:     userID,
		AuthTime:   created.Add(-time.Second),
		AMR:        []string{"pwd", "otp"},
		CreatedAt:  created,
		LastSeenAt: created.Add(time.Minute),
		ExpiresAt:  created.Add(24 * time.Hour),
		Address:    "192.0.2.7",
		UserAgent:  "Mozilla/5.0 (テスト) " + id,
	}
}

func newRefreshToken(id, familyID, clientID, userID, sessionID string) *storage.RefreshToken {
	return &storage.RefreshToken{
		ID:              id,
		TokenHash:       storage.HashToken("refresh-" + id),
		FamilyID:        familyID,
		ClientID:        clientID,
		UserID:          userID,
		SessionID:       sessionID,
		Scopes:          []string{"openid", "profile"},
		AuthTime:        at(-2 * time.Hour),
		AMR:             []string{"pwd"},
		Claims:          storage.RequestedClaims{IDToken: []string{"email"}, UserInfo: []string{"phone_number"}},
		CreatedAt:       at(-time.Hour),
		ExpiresAt:       at(24 * time.Hour),
		FamilyExpiresAt: at(30 * 24 * time.Hour),
		DPoPJKT:         "jkt-" + familyID, // RFC 9449 §5 binding, kept on rotation
	}
}

func newSigningKey(id string, created time.Time) *storage.SigningKey {
	return &storage.SigningKey{
		ID:           id,
		Algorithm:    "RS256",
		State:        storage.KeyNext,
		EncryptedKey: []byte("ciphertext of " + id + "\x00\xff"),
		CreatedAt:    created,
	}
}

// seed holds the rows most tests need as foreign-key targets.
type seed struct {
	user, user2     *storage.User
	client, client2 *storage.Client
	session         *storage.Session
}

// seedRows creates two users, two clients and a session of the first user.
func seedRows(t *testing.T, s storage.Store) seed {
	t.Helper()
	ctx := t.Context()
	sd := seed{
		user:    newUser("user-1", "alice"),
		user2:   newUser("user-2", "bob"),
		client:  newClient("client-1"),
		client2: newClient("client-2"),
		session: newSession("session-1", "user-1", at(-3*time.Hour)),
	}
	mustOK(t, s.CreateUser(ctx, sd.user), "CreateUser")
	mustOK(t, s.CreateUser(ctx, sd.user2), "CreateUser")
	mustOK(t, s.CreateClient(ctx, sd.client), "CreateClient")
	mustOK(t, s.CreateClient(ctx, sd.client2), "CreateClient")
	mustOK(t, s.CreateSession(ctx, sd.session), "CreateSession")
	return sd
}

// scribble overwrites everything reachable from v (a pointer to a struct, or
// a slice of them) except times: strings, numbers, booleans, bytes, through
// slices and pointers. Tests call it on values handed to or returned by the
// store, then check that the store's copy is unchanged.
func scribble(v any) { scribbleValue(reflect.ValueOf(v)) }

func scribbleValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			scribbleValue(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			scribbleValue(v.Index(i))
		}
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				scribbleValue(v.Field(i))
			}
		}
	case reflect.String:
		v.SetString("scribbled " + v.String())
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint8:
		v.SetUint(v.Uint() ^ 0xff)
	}
}

// deepCopy returns a copy of v (a pointer to a struct) sharing no slices or
// pointers with it, to keep as the expected value.
func deepCopy[T any](v T) T {
	return copyValue(reflect.ValueOf(v)).Interface().(T)
}

func copyValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(copyValue(v.Elem()))
		return c
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(copyValue(v.Index(i)))
		}
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v) // copies unexported fields too (time.Time)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				c.Field(i).Set(copyValue(v.Field(i)))
			}
		}
		return c
	default:
		return v
	}
}

// consumeCode redeems the code of codeHash at now without a refresh token:
// the consumption, tombstone and user read of RedeemAuthCode alone.
func consumeCode(ctx context.Context, s storage.Store, codeHash string, now time.Time) (*storage.AuthRequest, error) {
	r, _, err := s.RedeemAuthCode(ctx, &storage.CodeRedemption{CodeHash: codeHash, Now: now, FamilyID: storage.NewID()})
	return r, err
}
