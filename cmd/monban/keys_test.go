package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"github.com/monban-idp/monban/op/keys"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
	"github.com/monban-idp/monban/storage/storagetest"
)

// otherKEKSecret is a second key-encryption secret (base64 of 32 bytes).
const otherKEKSecret = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="

// keyJSONKeys are the keys of a signing key in "keys list --output json".
var keyJSONKeys = []string{"activated_at", "algorithm", "created_at", "kid", "remove_after", "retired_at", "state"}

// keyStates counts the stored keys by algorithm and state.
func keyStates(t *testing.T, st storage.SigningKeys) map[string]map[string]int {
	t.Helper()
	keys, err := st.ListSigningKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int{}
	for _, k := range keys {
		if out[k.Algorithm] == nil {
			out[k.Algorithm] = map[string]int{}
		}
		out[k.Algorithm][k.State]++
	}
	return out
}

// wantStates fails unless every supported algorithm has the given number
// of keys in each state.
func wantKeyStates(t *testing.T, st storage.SigningKeys, current, next, retired int) {
	t.Helper()
	want := map[string]map[string]int{}
	for _, alg := range keys.SupportedAlgorithms {
		want[string(alg)] = map[string]int{}
		for state, n := range map[string]int{storage.KeyCurrent: current, storage.KeyNext: next, storage.KeyRetired: retired} {
			if n > 0 {
				want[string(alg)][state] = n
			}
		}
	}
	if got := keyStates(t, st); !reflect.DeepEqual(got, want) {
		t.Fatalf("keys by algorithm and state = %v, want %v", got, want)
	}
}

func TestKeysCommands(t *testing.T) {
	env, st := dbEnv(t)
	if out := mustRun(t, env, "", "keys", "list", "--output", "json").stdout; strings.TrimSpace(out) != "[]" {
		t.Fatalf("keys list on an empty database = %q, want []", out)
	}

	// Secrets are needed to create keys, and checked before anything is written.
	for _, tc := range []struct {
		name, secrets, stderr string
	}{
		{"no secret", "", "monban: keys rotate: the key-encryption secrets are required"},
		{"malformed secret", "hunter2", "monban: keys rotate: MONBAN_SECRETS: secret 1 is not the base64 encoding of 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{"MONBAN_DATABASE_URL": env["MONBAN_DATABASE_URL"], "MONBAN_SECRETS": tc.secrets}
			if r := runCLI(t, e, "", "keys", "rotate"); r.code != 1 || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.stderr)
			}
		})
	}

	env["MONBAN_SECRETS"] = testSecret
	// On an empty database, rotate starts every algorithm with a signing key
	// and a pre-published next key.
	mustRun(t, env, "", "keys", "rotate")
	wantKeyStates(t, st, 1, 1, 0)

	// A second rotation right away would sign with keys relying parties may
	// not have fetched: it waits, and says until when.
	r := runCLI(t, env, "", "keys", "rotate")
	if r.code != 1 || !strings.Contains(r.stdout, "waiting until") || !strings.Contains(r.stderr, "4 algorithm(s) not rotated") {
		t.Fatalf("early rotate: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	// Issue #13 item 15: nothing rotated, so no server switches keys.
	if strings.Contains(r.stdout, "switch to the new keys") || !strings.Contains(r.stdout, "Nothing was rotated") {
		t.Fatalf("early rotate claims a switch:\n%s", r.stdout)
	}
	wantKeyStates(t, st, 1, 1, 0)

	var rotations []map[string]any
	r = mustRun(t, env, "", "keys", "rotate", "--immediately", "--output", "json")
	decodeJSON(t, r.stdout, &rotations)
	if len(rotations) != len(keys.SupportedAlgorithms) {
		t.Fatalf("rotate --output json = %s", r.stdout)
	}
	for _, rot := range rotations {
		if rot["rotated"] != true || rot["retired_kid"] == "" || rot["current_kid"] == rot["next_kid"] {
			t.Errorf("rotation %v", rot)
		}
	}
	wantKeyStates(t, st, 1, 1, 1)

	var listed []map[string]any
	decodeJSON(t, mustRun(t, env, "", "keys", "list", "--output", "json").stdout, &listed)
	for _, k := range listed {
		if got := jsonKeys(t, k); !slices.Equal(got, keyJSONKeys) {
			t.Fatalf("key JSON has %q, want %q (never key material)", got, keyJSONKeys)
		}
		if k["state"] != storage.KeyRetired {
			continue
		}
		retired, _ := time.Parse(time.RFC3339Nano, k["retired_at"].(string))
		remove, _ := time.Parse(time.RFC3339Nano, k["remove_after"].(string))
		// Retention: the 12 h default session max age is below the 24 h
		// minimum; plus a refresh interval and a JWKS cache lifetime.
		if want := keys.DefaultKeyRetention + keys.DefaultKeyRefresh + keys.JWKSMaxAge; remove.Sub(retired) != want {
			t.Errorf("retired key %s: removable %s after retirement, want %s", k["kid"], remove.Sub(retired), want)
		}
	}
	text := mustRun(t, env, "", "keys", "list").stdout
	if !strings.HasPrefix(text, "KID") || strings.Count(text, "\n") != 1+len(listed) || strings.Count(text, " retired ") != 4 {
		t.Errorf("keys list:\n%s", text)
	}

	// A wrong secret is refused before anything is written.
	before := keyStates(t, st)
	wrong := map[string]string{"MONBAN_DATABASE_URL": env["MONBAN_DATABASE_URL"], "MONBAN_SECRETS": otherKEKSecret}
	if r := runCLI(t, wrong, "", "keys", "rotate", "--immediately"); r.code != 1 || !strings.Contains(r.stderr, "cannot be decrypted with the configured secrets") {
		t.Fatalf("rotate with a wrong secret: exit %d, stderr %q", r.code, r.stderr)
	}
	if !reflect.DeepEqual(keyStates(t, st), before) {
		t.Fatal("rotate with a wrong secret changed the keys")
	}

	// Moving to a new secret: put it first, re-encrypt, drop the old one.
	both := map[string]string{"MONBAN_DATABASE_URL": env["MONBAN_DATABASE_URL"], "MONBAN_SECRETS": otherKEKSecret + "," + testSecret}
	if out := mustRun(t, both, "", "keys", "reencrypt").stdout; !strings.HasPrefix(out, "Re-encrypted 12 signing key(s) under the first secret; 0 already were.") {
		t.Errorf("reencrypt: %q", out)
	}
	var again struct{ Reencrypted, Unchanged []string }
	decodeJSON(t, mustRun(t, both, "", "keys", "reencrypt", "--output", "json").stdout, &again)
	if len(again.Reencrypted) != 0 || len(again.Unchanged) != 12 {
		t.Errorf("second reencrypt: %+v, want nothing to do", again)
	}
	mustRun(t, wrong, "", "keys", "rotate", "--immediately") // the new secret alone now works
	wantKeyStates(t, st, 1, 1, 2)
}

// TestServeRefusesWrongSecret: a server whose secrets cannot decrypt the
// stored keys does not start, and writes no new keys (checklist R10).
func TestServeRefusesWrongSecret(t *testing.T) {
	env, st := dbEnv(t)
	env["MONBAN_SECRETS"] = testSecret
	mustRun(t, env, "", "keys", "rotate")
	before := keyStates(t, st)
	for _, tc := range []struct{ name, secrets, stderr string }{
		{"wrong secret", otherKEKSecret, "monban: serve: signing keys: signing key "},
		{"missing secret", "", "monban: serve: at least one secret is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{"MONBAN_DATABASE_URL": env["MONBAN_DATABASE_URL"], "MONBAN_SECRETS": tc.secrets,
				"MONBAN_ISSUER": "https://id.example.com", "MONBAN_LISTEN": "127.0.0.1:0", "MONBAN_LOG_LEVEL": "error"}
			r := runCLI(t, e, "", "serve")
			if r.code != 1 || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("serve: exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tc.stderr)
			}
			if !reflect.DeepEqual(keyStates(t, st), before) {
				t.Fatal("a server that refused to start changed the keys")
			}
		})
	}
}

// TestTwoProvidersRotatingAtOnceOnPostgres is issue #4's "must show" 3: two
// providers on one PostgreSQL database, each with its own connection pool,
// start on an empty database and then rotate at the same instants, several
// rounds in a row. After every round each algorithm has exactly one current
// key (and one next key), and after one refresh both serve the same JWKS.
func TestTwoProvidersRotatingAtOnceOnPostgres(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	clock := storagetest.NewClock(time.Date(2030, time.March, 1, 12, 0, 0, 0, time.UTC))
	kek, err := keys.ParseKeyEncryptionKeys([]string{testSecret})
	if err != nil {
		t.Fatal(err)
	}
	var providers [2]*keys.Keys
	for i := range providers {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		providers[i] = keys.New(st, kek, clock.Now)
	}
	check, _ := postgres.Open(t.Context(), dsn)
	t.Cleanup(check.Close)
	atOnce := func(what string, fn func(k *keys.Keys) error) {
		t.Helper()
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, len(providers))
		for i, k := range providers {
			wg.Go(func() { <-start; errs[i] = fn(k) })
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("%s on provider %d: %v", what, i, err)
			}
		}
	}
	atOnce("start-up", func(k *keys.Keys) error { return k.Ensure(t.Context(), keys.SupportedAlgorithms...) })
	wantKeyStates(t, check, 1, 0, 0)
	for round := range 3 {
		atOnce("rotation", func(k *keys.Keys) error { _, err := k.Rotate(t.Context()); return err })
		wantKeyStates(t, check, 1, 1, min(round, 1)) // a retired key goes after a day
		atOnce("refresh", func(k *keys.Keys) error { return k.Load(t.Context()) })
		a, _ := providers[0].JWKS()
		b, _ := providers[1].JWKS()
		if !bytes.Equal(a, b) {
			t.Fatalf("round %d: the providers serve different JWKS", round)
		}
		clock.Advance(keys.DefaultKeyRotationPeriod) // every current key is due
	}
}

// TestKeysTableDumpHasNoPrivateKeyMaterial is issue #4's "must show" 2: a
// dump of the signing_keys table (COPY, as pg_dump writes it, and pg_dump
// itself) holds every key only encrypted. The test decrypts the stored
// ciphertexts itself (AES-256-GCM, nonce first, kid as additional data) to
// learn the private keys, then looks for their DER encoding and every
// private component in the dump, raw, in hex and in base64.
func TestKeysTableDumpHasNoPrivateKeyMaterial(t *testing.T) {
	env, st := dbEnv(t)
	env["MONBAN_SECRETS"] = testSecret
	mustRun(t, env, "", "keys", "rotate")
	mustRun(t, env, "", "keys", "rotate", "--immediately") // current, next and retired keys
	ctx := t.Context()

	conn, err := pgx.Connect(ctx, env["MONBAN_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	var dump bytes.Buffer
	if _, err := conn.PgConn().CopyTo(ctx, &dump, "COPY signing_keys TO STDOUT"); err != nil {
		t.Fatal(err)
	}
	dumps := map[string][]byte{"COPY signing_keys TO STDOUT": dump.Bytes()}
	if pgDump, err := exec.LookPath("pg_dump"); err == nil {
		out, err := exec.CommandContext(ctx, pgDump, "--data-only", "--table=signing_keys", "--dbname="+env["MONBAN_DATABASE_URL"]).Output()
		if err != nil {
			t.Logf("pg_dump failed (%v); checking the COPY dump only", err)
		} else {
			dumps["pg_dump"] = out
		}
	}

	stored, err := st.ListSigningKeys(ctx)
	if err != nil || len(stored) != 3*len(keys.SupportedAlgorithms) {
		t.Fatalf("%d stored (%v), want next, current and retired of every algorithm", len(stored), err)
	}
	block, _ := aes.NewCipher([]byte("0123456789abcdef0123456789abcdef")) // testSecret decoded
	aead, _ := cipher.NewGCM(block)
	for _, k := range stored {
		for what, dump := range dumps {
			if !bytes.Contains(dump, []byte(`\\x`+hex.EncodeToString(k.EncryptedKey))) {
				t.Fatalf("%s does not hold key %s's ciphertext: is it a dump of the stored?", what, k.ID)
			}
		}
		der, err := aead.Open(nil, k.EncryptedKey[:aead.NonceSize()], k.EncryptedKey[aead.NonceSize():], []byte(k.ID))
		if err != nil {
			t.Fatalf("key %s does not decrypt with the secret: %v", k.ID, err)
		}
		for what, dump := range dumps {
			for part, secret := range privateParts(t, der) {
				for enc, s := range map[string]string{
					"raw": string(secret), "hex": hex.EncodeToString(secret), "HEX": strings.ToUpper(hex.EncodeToString(secret)),
					"base64": base64.StdEncoding.EncodeToString(secret), "base64url": base64.RawURLEncoding.EncodeToString(secret),
				} {
					if bytes.Contains(dump, []byte(s)) {
						t.Errorf("%s shows key %s's %s (%s)", what, k.ID, part, enc)
					}
				}
			}
		}
	}
}

// privateParts returns the secret parts of a PKCS#8 private key.
func privateParts(t *testing.T, der []byte) map[string][]byte {
	t.Helper()
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string][]byte{"PKCS#8 DER": der}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		parts["d"], parts["p"], parts["q"] = k.D.Bytes(), k.Primes[0].Bytes(), k.Primes[1].Bytes()
		parts["dp"], parts["dq"], parts["qi"] = k.Precomputed.Dp.Bytes(), k.Precomputed.Dq.Bytes(), k.Precomputed.Qinv.Bytes()
	case *ecdsa.PrivateKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		parts["d"] = b
	case ed25519.PrivateKey:
		parts["seed"] = k.Seed()
	default:
		t.Fatalf("unexpected key type %T", parsed)
	}
	return parts
}
