package password_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/monban-idp/monban/storage/password"
)

// fast are cheap parameters, so the tests spend no time hashing.
var fast = password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := password.NewHasher(fast, 4)
	tests := []struct {
		name     string
		password string
	}{
		{"ascii", "correct horse battery staple"},
		{"empty", ""},
		{"latin accents", "Pässwörd mit Umlauten"},
		{"emoji passphrase", "🔐🦄 my unicorn guards the vault 🌈✨"},
		{"japanese", "パスワードは秘密です"},
		{"surrounding spaces kept", "  spaced out  "},
		{"NUL byte", "before\x00after"},
		{"exactly 1024 bytes", strings.Repeat("a", password.MaxLength)},
		{"256 four-byte runes", strings.Repeat("🔑", password.MaxLength/4)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := h.Hash(tc.password)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !phcPattern.MatchString(phc) {
				t.Errorf("Hash = %q, not a PHC argon2id string with the hasher's params", phc)
			}
			ok, rehash, err := h.Verify(tc.password, phc)
			if err != nil || !ok || rehash {
				t.Errorf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			again, err := h.Hash(tc.password)
			if err != nil {
				t.Fatalf("Hash again: %v", err)
			}
			if again == phc {
				t.Errorf("two hashes of one password are identical; the salt is not random")
			}
		})
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := password.NewHasher(fast, 4)
	const right = "Pässwörd 🔐 Correct"
	phc, err := h.Hash(right)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
	}{
		{"empty", ""},
		{"different", "something else entirely"},
		{"lower case (no case folding)", strings.ToLower(right)},
		{"upper case (no case folding)", strings.ToUpper(right)},
		{"trailing space (no trimming)", right + " "},
		{"prefix (no truncation)", right[:len(right)-1]},
		{"extra character", right + "!"},
		{"decomposed umlauts (no normalization)", "Pa\u0308sswo\u0308rd 🔐 Correct"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tc.password, phc)
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestKnownAnswers checks interoperability with the reference C
// implementation: the hashes were made with libargon2 20171227
// (argon2id_hash_encoded), with the salts that appear decoded in them.
func TestKnownAnswers(t *testing.T) {
	h := password.NewHasher(fast, 4)
	tests := []struct {
		name, password, phc string
	}{
		{
			"m=64 t=1 p=1",
			"correct horse battery staple",
			"$argon2id$v=19$m=64,t=1,p=1$bW9uYmFuLWthdC1zYWx0IQ$8F54MY9LWwPI6+cS60/pRjKQ3k/BzQQ8gHxZWRTU3Gw",
		},
		{
			"m=256 t=2 p=2, unicode",
			"Pässwörd 🔐 パスワード",
			"$argon2id$v=19$m=256,t=2,p=2$MDEyMzQ1Njc4OWFiY2RlZg$Z/oo0MnIb8Dpq7chTEjGy+Go9aN8RCybSxW5rUk+v6g",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, _, err := h.Verify(tc.password, tc.phc)
			if err != nil || !ok {
				t.Errorf("Verify(reference hash) = %v, %v; want true, nil", ok, err)
			}
			ok, _, err = h.Verify(tc.password+"x", tc.phc)
			if err != nil || ok {
				t.Errorf("Verify(wrong password, reference hash) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func TestDefaultParams(t *testing.T) {
	want := password.Params{Memory: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if password.DefaultParams != want {
		t.Fatalf("DefaultParams = %+v, want the OWASP minimum %+v", password.DefaultParams, want)
	}
	h := password.NewHasher(password.DefaultParams, 1)
	phc, err := h.Hash("hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`).MatchString(phc) {
		t.Errorf("Hash = %q, want the DefaultParams PHC form", phc)
	}
	// Made by libargon2 20171227 with salt "somesaltsomesalt".
	const reference = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$leF08Fu/gOi7XGf5NvDjbfR9GY+siUuPd+cKkq57H/c"
	for _, stored := range []string{phc, reference} {
		ok, rehash, err := h.Verify("hunter2", stored)
		if err != nil || !ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want true, false, nil", stored, ok, rehash, err)
		}
	}
}

func TestTamperedHash(t *testing.T) {
	h := password.NewHasher(fast, 4)
	const pw = "correct horse battery staple"
	phc, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Split(phc, "$") // "", argon2id, v=19, params, salt, hash
	flip := func(s string) string {   // change the first character, staying canonical
		c := "A"
		if s[0] == 'A' {
			c = "B"
		}
		return c + s[1:]
	}
	join := func(params, salt, hash string) string {
		return strings.Join([]string{"", "argon2id", "v=19", params, salt, hash}, "$")
	}
	tests := []struct {
		name string
		phc  string
	}{
		{"hash changed", join(fields[3], fields[4], flip(fields[5]))},
		{"salt changed", join(fields[3], flip(fields[4]), fields[5])},
		{"memory changed", join("m=72,t=1,p=1", fields[4], fields[5])},
		{"iterations changed", join("m=64,t=2,p=1", fields[4], fields[5])},
		{"parallelism changed", join("m=64,t=1,p=2", fields[4], fields[5])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(pw, tc.phc)
			if err != nil || ok || rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", tc.phc, ok, rehash, err)
			}
		})
	}
}

func TestMalformedHash(t *testing.T) {
	h := password.NewHasher(fast, 4)
	const salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
	const hash = "leF08Fu/gOi7XGf5NvDjbfR9GY+siUuPd+cKkq57H/c" // 32 bytes
	phc := func(head, params, salt, hash string) string {
		return head + "$" + params + "$" + salt + "$" + hash
	}
	const head = "$argon2id$v=19"
	const params = "m=64,t=1,p=1"
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"plain text", "hunter2"},
		{"bcrypt, but truncated", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhW"}, // a whole bcrypt hash is an imported one (foreign.go)
		{"argon2i", phc("$argon2i$v=19", params, salt, hash)},
		{"argon2d", phc("$argon2d$v=19", params, salt, hash)},
		{"upper-case algorithm", phc("$ARGON2ID$v=19", params, salt, hash)},
		{"no version", "$argon2id$" + params + "$" + salt + "$" + hash},
		{"version 16", phc("$argon2id$v=16", params, salt, hash)},
		{"no leading dollar", phc("argon2id$v=19", params, salt, hash)},
		{"trailing dollar", phc(head, params, salt, hash) + "$"},
		{"extra field", phc(head, params, salt, hash) + "$" + hash},
		{"missing hash", head + "$" + params + "$" + salt},
		{"parameters out of order", phc(head, "t=1,m=64,p=1", salt, hash)},
		{"missing parameter", phc(head, "m=64,t=1", salt, hash)},
		{"extra parameter", phc(head, "m=64,t=1,p=1,keyid=abc", salt, hash)},
		{"space in parameters", phc(head, "m=64, t=1,p=1", salt, hash)},
		{"leading zero", phc(head, "m=064,t=1,p=1", salt, hash)},
		{"plus sign", phc(head, "m=+64,t=1,p=1", salt, hash)},
		{"negative", phc(head, "m=-64,t=1,p=1", salt, hash)},
		{"empty number", phc(head, "m=,t=1,p=1", salt, hash)},
		{"hex number", phc(head, "m=0x40,t=1,p=1", salt, hash)},
		{"memory overflows uint32", phc(head, "m=4294967296,t=1,p=1", salt, hash)},
		{"memory zero", phc(head, "m=0,t=1,p=1", salt, hash)},
		{"memory below 8 per lane", phc(head, "m=15,t=1,p=2", salt, hash)},
		{"absurd memory (over 1 GiB)", phc(head, "m=1048577,t=1,p=1", salt, hash)},
		{"absurd memory (4 GiB)", phc(head, "m=4194304,t=1,p=1", salt, hash)},
		{"iterations zero", phc(head, "m=64,t=0,p=1", salt, hash)},
		{"absurd iterations", phc(head, "m=64,t=21,p=1", salt, hash)},
		{"absurd iterations (max uint32)", phc(head, "m=64,t=4294967295,p=1", salt, hash)},
		{"parallelism zero", phc(head, "m=64,t=1,p=0", salt, hash)},
		{"parallelism above 255", phc(head, "m=4096,t=1,p=256", salt, hash)},
		{"padded salt", phc(head, params, salt+"==", hash)},
		{"padded hash", phc(head, params, salt, hash+"=")},
		{"URL-safe base64", phc(head, params, salt, strings.ReplaceAll(hash, "/", "_"))},
		{"newline in hash", phc(head, params, salt, hash[:20]+"\n"+hash[20:])},
		{"non-canonical trailing bits", phc(head, params, salt, hash[:len(hash)-1]+"d")},
		{"invalid base64 length", phc(head, params, salt, "A")},
		{"salt too short", phc(head, params, "c2FsdA", hash)},
		{"salt too long", phc(head, params, strings.Repeat("A", 88), hash)},
		{"empty salt", phc(head, params, "", hash)},
		{"hash too short", phc(head, params, salt, "AAAAAAAAAAAAAAAAAAAA")},
		{"hash too long", phc(head, params, salt, strings.Repeat("A", 88))},
		{"empty hash", phc(head, params, salt, "")},
		{"leading space", " " + phc(head, params, salt, hash)},
		{"trailing newline", phc(head, params, salt, hash) + "\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify("hunter2", tc.phc)
			if !errors.Is(err, password.ErrInvalidHash) || ok || rehash {
				t.Errorf("Verify(%q) = %v, %v, %v; want false, false and ErrInvalidHash", tc.phc, ok, rehash, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	current := password.Params{Memory: 128, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	with := func(change func(p *password.Params)) password.Params {
		p := current
		change(&p)
		return p
	}
	tests := []struct {
		name       string
		stored     password.Params
		wantRehash bool
	}{
		{"same params", current, false},
		{"less memory", with(func(p *password.Params) { p.Memory = 64 }), true},
		{"fewer iterations", with(func(p *password.Params) { p.Iterations = 1 }), true},
		{"shorter salt", with(func(p *password.Params) { p.SaltLen = 8 }), true},
		{"shorter key", with(func(p *password.Params) { p.KeyLen = 16 }), true},
		{"more memory", with(func(p *password.Params) { p.Memory = 256 }), false},
		{"more iterations", with(func(p *password.Params) { p.Iterations = 3 }), false},
		{"other parallelism", with(func(p *password.Params) { p.Parallelism = 2 }), false},
	}
	h := password.NewHasher(current, 4)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := password.NewHasher(tc.stored, 1).Hash("hunter2")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := h.Verify("hunter2", phc)
			if err != nil || !ok || rehash != tc.wantRehash {
				t.Errorf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.wantRehash)
			}
			// A wrong password never asks for a rehash.
			ok, rehash, err = h.Verify("hunter3", phc)
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestPasswordTooLong(t *testing.T) {
	h := password.NewHasher(fast, 4)
	stored, err := h.Hash("short")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		password string
	}{
		{"1025 ASCII bytes", strings.Repeat("a", password.MaxLength+1)},
		{"257 four-byte runes (1028 bytes)", strings.Repeat("🔑", password.MaxLength/4+1)},
		{"a megabyte", strings.Repeat("x", 1<<20)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.Hash(tc.password); !errors.Is(err, password.ErrPasswordTooLong) {
				t.Errorf("Hash: got %v, want ErrPasswordTooLong", err)
			}
			// Rejected before parsing, so even a malformed hash gives this error.
			for _, phc := range []string{stored, "garbage"} {
				ok, rehash, err := h.Verify(tc.password, phc)
				if !errors.Is(err, password.ErrPasswordTooLong) || ok || rehash {
					t.Errorf("Verify = %v, %v, %v; want false, false, ErrPasswordTooLong", ok, rehash, err)
				}
			}
			h.VerifyDummy(tc.password) // must not panic or hash
		})
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name    string
		params  password.Params
		wantErr bool
	}{
		{"defaults", password.DefaultParams, false},
		{"fast test params", fast, false},
		{"largest accepted", password.Params{Memory: 1 << 20, Iterations: 20, Parallelism: 255, SaltLen: 64, KeyLen: 64}, false},
		{"zero value", password.Params{}, true},
		{"no iterations", password.Params{Memory: 64, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"too many iterations", password.Params{Memory: 64, Iterations: 21, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"no parallelism", password.Params{Memory: 64, Iterations: 1, SaltLen: 16, KeyLen: 32}, true},
		{"memory below 8 per lane", password.Params{Memory: 31, Iterations: 1, Parallelism: 4, SaltLen: 16, KeyLen: 32}, true},
		{"memory over 1 GiB", password.Params{Memory: 1<<20 + 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, true},
		{"salt too short", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 7, KeyLen: 32}, true},
		{"salt too long", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 65, KeyLen: 32}, true},
		{"key too short", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 15}, true},
		{"key too long", password.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 65}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.params.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate() = %v, want error: %v", err, tc.wantErr)
			}
			defer func() {
				if panicked := recover() != nil; panicked != tc.wantErr {
					t.Errorf("NewHasher panicked: %v, want %v", panicked, tc.wantErr)
				}
			}()
			password.NewHasher(tc.params, 1)
		})
	}
}
