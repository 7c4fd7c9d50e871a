package keys

import (
	"cmp"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/monban-idp/monban/storage"
)

// SupportedAlgorithms are the JWS algorithms monban can sign with. RS256 is
// mandatory to implement for ID tokens (OIDC Core §15.1) and must be
// supported for JWT access tokens (RFC 9068 §2.1); ES256 (RFC 7518 §3.4),
// PS256 (§3.5) and EdDSA with Ed25519 (RFC 8037 §3.1) are the modern
// alternatives.
var SupportedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA}

// rsaKeyBits is the size of generated RSA keys: RFC 7518 §3.3 requires at
// least 2048 bits. RS256/PS256 exist for interoperability; ES256 and EdDSA
// give 128-bit security at a fraction of the cost.
const rsaKeyBits = 2048

// KeyEncryptionKeys encrypt signing keys at rest with AES-256-GCM. The
// first key encrypts; every key is tried when decrypting, so an operator can
// move to a new secret by putting it first (then `monban keys reencrypt`).
//
// A sealed key is nonce ‖ ciphertext ‖ tag, with the key ID as additional
// authenticated data so a ciphertext cannot be moved to another key row.
type KeyEncryptionKeys struct {
	aeads []cipher.AEAD
}

// ParseKeyEncryptionKeys parses secrets, each the standard base64 encoding of
// 32 random bytes.
func ParseKeyEncryptionKeys(secrets []string) (*KeyEncryptionKeys, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no key-encryption secret configured")
	}
	k := &KeyEncryptionKeys{}
	for i, s := range secrets {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("secret %d is not the base64 encoding of 32 bytes", i+1)
		}
		block, _ := aes.NewCipher(raw) // 32 bytes is always a valid AES key
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.aeads = append(k.aeads, aead)
	}
	return k, nil
}

// RandomKeyEncryptionKeys returns a fresh random key, for development
// servers whose store does not outlive the process.
func RandomKeyEncryptionKeys() *KeyEncryptionKeys {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	k, _ := ParseKeyEncryptionKeys([]string{base64.StdEncoding.EncodeToString(b)})
	return k
}

// seal encrypts plaintext under the first secret, bound to the key ID.
func (k *KeyEncryptionKeys) seal(kid string, plaintext []byte) []byte {
	aead := k.aeads[0]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(kid))
}

// open decrypts a sealed key with the first secret that can, and returns
// which one (0 is the first).
func (k *KeyEncryptionKeys) open(kid string, sealed []byte) ([]byte, int, error) {
	for i, aead := range k.aeads {
		if len(sealed) < aead.NonceSize() {
			break
		}
		nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
		if pt, err := aead.Open(nil, nonce, ct, []byte(kid)); err == nil {
			return pt, i, nil
		}
	}
	return nil, 0, fmt.Errorf("signing key %s cannot be decrypted with the configured secrets (wrong or missing MONBAN_SECRETS?)", kid)
}

// signingKey is a parsed private key with a cached signer per JWS `typ`.
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	mu      sync.Mutex
	headers map[string]string // protected header by typ (header)
}

// header returns the base64url protected header of a JWS this key signs
// with typ: {"alg","kid","typ"}, in that order, as go-jose writes it.
func (k *signingKey) header(typ string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h, ok := k.headers[typ]; ok {
		return h
	}
	raw, _ := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(k.alg), k.id, typ}) // strings only: cannot fail
	h := base64.RawURLEncoding.EncodeToString(raw)
	k.headers[typ] = h
	return h
}

// sigLen is the length of the key's signatures in bytes.
func (k *signingKey) sigLen() int {
	switch p := k.private.(type) {
	case *rsa.PrivateKey:
		return p.Size()
	case *ecdsa.PrivateKey:
		return 2 * ((p.Curve.Params().BitSize + 7) / 8)
	}
	return ed25519.SignatureSize
}

// sign signs a JWS signing input: RS256 is RSASSA-PKCS1-v1_5 with
// SHA-256 (RFC 7518 §3.3), PS256 RSASSA-PSS with SHA-256 and a salt as
// long as the hash (§3.5), ES256 ECDSA P-256 with SHA-256 as the fixed
// 64-byte R || S (§3.4, not ASN.1), EdDSA Ed25519 over the input itself
// (RFC 8037 §3.1).
func (k *signingKey) sign(input []byte) ([]byte, error) {
	if k.alg == jose.EdDSA {
		p, ok := k.private.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s: a %T cannot sign EdDSA", k.id, k.private)
		}
		return ed25519.Sign(p, input), nil
	}
	digest := sha256.Sum256(input)
	switch p := k.private.(type) {
	case *rsa.PrivateKey:
		switch k.alg {
		case jose.RS256:
			return rsa.SignPKCS1v15(rand.Reader, p, crypto.SHA256, digest[:])
		case jose.PS256:
			return rsa.SignPSS(rand.Reader, p, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	case *ecdsa.PrivateKey:
		if k.alg == jose.ES256 {
			der, err := ecdsa.SignASN1(rand.Reader, p, digest[:])
			if err != nil {
				return nil, err
			}
			return fixedRS(der, k.sigLen()/2)
		}
	}
	return nil, fmt.Errorf("signing key %s: a %T cannot sign %s", k.id, k.private, k.alg)
}

// fixedRS turns an ASN.1 ECDSA signature (SEQUENCE of the INTEGERs r and
// s) into the JWS form: r and s big-endian, each left-padded to n bytes
// (RFC 7518 §3.4), without going through big.Int.
func fixedRS(der []byte, n int) ([]byte, error) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("malformed ECDSA signature")
	}
	out := make([]byte, 2*n)
	for i, v := range [][]byte{r, s} {
		for len(v) > 0 && v[0] == 0 { // a positive INTEGER's sign byte
			v = v[1:]
		}
		if len(v) > n {
			return nil, errors.New("malformed ECDSA signature")
		}
		copy(out[(i+1)*n-len(v):(i+1)*n], v)
	}
	return out, nil
}

// keySet is an immutable snapshot of the stored keys.
type keySet struct {
	version string                                  // fingerprint of the (id, algorithm, state) list it was built from
	parsed  map[string]*signingKey                  // every stored key by kid, reused by the next snapshot
	current map[jose.SignatureAlgorithm]*signingKey // signing key per algorithm
	public  map[string]jose.JSONWebKey              // every published key by kid
	jwks    []byte                                  // serialized JWKS document
	etag    string
}

// Keys loads signing keys from the store, keeps them parsed in memory,
// serves the JWKS from precomputed bytes and rotates them (rotation.go).
//
// Every stored key — next, current and retired — is published in the JWKS;
// the current key of each algorithm signs. Request handlers read an atomic
// snapshot, so they never wait for the store.
type Keys struct {
	store  storage.SigningKeys
	kek    *KeyEncryptionKeys
	now    func() time.Time
	policy RotationPolicy
	algs   []jose.SignatureAlgorithm // kept by Ensure and Rotate

	loadMu sync.Mutex // one snapshot builder at a time
	set    atomic.Pointer[keySet]
}

// New returns a key manager over store with DefaultRotationPolicy.
// Call Ensure before use.
func New(store storage.SigningKeys, kek *KeyEncryptionKeys, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{store: store, kek: kek, now: now, policy: DefaultRotationPolicy()}
}

// clock returns now as the store keeps it: UTC, microseconds.
func (k *Keys) clock() time.Time { return k.now().UTC().Truncate(time.Microsecond) }

// newKey generates a key for alg and returns its record, encrypted, in
// state with CreatedAt (and, for a current key, ActivatedAt) at now. The
// key ID is a truncated SHA-256 of the public key: unique, stable, not
// secret.
func (k *Keys) newKey(alg jose.SignatureAlgorithm, state string, now time.Time) (*storage.SigningKey, error) {
	priv, err := generatePrivateKey(alg)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal %s key: %w", alg, err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(priv.Public())
	sum := sha256.Sum256(pub)
	kid := hex.EncodeToString(sum[:12])
	rec := &storage.SigningKey{
		ID: kid, Algorithm: string(alg), State: state,
		EncryptedKey: k.kek.seal(kid, der), CreatedAt: now,
	}
	if state == storage.KeyCurrent {
		rec.ActivatedAt = now
	}
	return rec, nil
}

func generatePrivateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.RS256, jose.PS256:
		return rsa.GenerateKey(rand.Reader, rsaKeyBits)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// checkKeyType reports whether priv can sign with alg.
func checkKeyType(alg jose.SignatureAlgorithm, priv crypto.Signer) bool {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		return (alg == jose.RS256 || alg == jose.PS256) && p.N.BitLen() >= rsaKeyBits
	case *ecdsa.PrivateKey:
		return alg == jose.ES256 && p.Curve == elliptic.P256()
	case ed25519.PrivateKey:
		return alg == jose.EdDSA
	}
	return false
}

// Load reads the keys from the store and, when the (id, algorithm, state)
// list changed since the last Load, swaps in a new snapshot: keys it has
// parsed before are reused, new ones decrypted and parsed. So calling it
// every few seconds costs one small query. A key that cannot be decrypted
// is a hard error and leaves the previous snapshot in place: the provider
// must never silently mint new keys over a configuration mistake.
func (k *Keys) Load(ctx context.Context) error {
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	return k.install(stored)
}

// install builds and stores the snapshot of stored (oldest first).
func (k *Keys) install(stored []*storage.SigningKey) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	version := fingerprint(stored)
	prev := k.set.Load()
	if prev != nil && prev.version == version {
		return nil
	}
	set := &keySet{
		version: version,
		parsed:  make(map[string]*signingKey, len(stored)),
		current: make(map[jose.SignatureAlgorithm]*signingKey),
		public:  make(map[string]jose.JSONWebKey, len(stored)),
	}
	for _, rec := range stored { // oldest first: a newer current key wins
		key, err := k.parse(prev, rec)
		if err != nil {
			return err
		}
		set.parsed[rec.ID] = key
		set.public[rec.ID] = jose.JSONWebKey{Key: key.private.Public(), KeyID: rec.ID, Algorithm: rec.Algorithm, Use: "sig"}
		if rec.State == storage.KeyCurrent {
			set.current[key.alg] = key
		}
	}
	// Current keys first, RS256 first among them: a client that naively
	// takes the first key gets the one that signs ID tokens by default.
	published := slices.Clone(stored)
	slices.SortStableFunc(published, func(a, b *storage.SigningKey) int {
		return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)),
			cmp.Compare(algRank(a.Algorithm), algRank(b.Algorithm)))
	})
	doc := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(published))}
	for _, rec := range published {
		doc.Keys = append(doc.Keys, set.public[rec.ID])
	}
	var err error
	if set.jwks, err = json.Marshal(doc); err != nil {
		return fmt.Errorf("marshal JWKS: %w", err)
	}
	sum := sha256.Sum256(set.jwks)
	set.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	k.set.Store(set)
	return nil
}

// parse returns the parsed key of rec, from prev when it has it.
func (k *Keys) parse(prev *keySet, rec *storage.SigningKey) (*signingKey, error) {
	alg := jose.SignatureAlgorithm(rec.Algorithm)
	if prev != nil {
		if key, ok := prev.parsed[rec.ID]; ok && key.alg == alg {
			return key, nil
		}
	}
	der, _, err := k.kek.open(rec.ID, rec.EncryptedKey)
	if err != nil {
		return nil, err
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", rec.ID, err)
	}
	priv, ok := parsed.(crypto.Signer)
	if !ok || !checkKeyType(alg, priv) {
		return nil, fmt.Errorf("signing key %s: a %T cannot sign %s", rec.ID, parsed, alg)
	}
	return &signingKey{id: rec.ID, alg: alg, private: priv, headers: map[string]string{}}, nil
}

// fingerprint identifies what a snapshot depends on. Re-encryption and
// time stamps do not change it.
func fingerprint(stored []*storage.SigningKey) string {
	h := sha256.New()
	for _, rec := range stored {
		fmt.Fprintf(h, "%s %s %s\n", rec.ID, rec.Algorithm, rec.State)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func stateRank(state string) int {
	return slices.Index([]string{storage.KeyCurrent, storage.KeyNext, storage.KeyRetired}, state)
}

func algRank(alg string) int {
	return slices.Index(SupportedAlgorithms, jose.SignatureAlgorithm(alg))
}

// signer returns the current key for alg.
// Version identifies the key set in use (it changes whenever a key is
// added, changes state or is removed); "" before the keys are loaded.
func (k *Keys) Version() string {
	if set := k.set.Load(); set != nil {
		return set.version
	}
	return ""
}

func (k *Keys) signer(alg jose.SignatureAlgorithm) (*signingKey, error) {
	set := k.set.Load()
	if set == nil {
		return nil, errors.New("signing keys not loaded")
	}
	key, ok := set.current[alg]
	if !ok {
		return nil, fmt.Errorf("no current signing key for %s", alg)
	}
	return key, nil
}

// Algorithms returns the algorithms the provider signs with, sorted: those
// given to Ensure, whose keys it keeps current (for discovery's
// id_token_signing_alg_values_supported, OIDC Discovery §3). Before Ensure,
// the algorithms that have a current key.
func (k *Keys) Algorithms() []string {
	var algs []string
	for _, alg := range k.algs {
		algs = append(algs, string(alg))
	}
	if set := k.set.Load(); len(algs) == 0 && set != nil {
		for alg := range set.current {
			algs = append(algs, string(alg))
		}
	}
	slices.Sort(algs)
	return algs
}

// publicKey returns the published key with the kid.
func (k *Keys) publicKey(kid string) (jose.JSONWebKey, bool) {
	set := k.set.Load()
	if set == nil {
		return jose.JSONWebKey{}, false
	}
	key, ok := set.public[kid]
	return key, ok
}

// JWKS returns the serialized public key set (RFC 7517 §5) and its entity
// tag. It holds every stored key, so a next key is published before it
// signs and a retired one until RemoveAfter.
func (k *Keys) JWKS() (body []byte, etag string) {
	set := k.set.Load()
	if set == nil {
		return []byte(`{"keys":[]}`), `"empty"`
	}
	return set.jwks, set.etag
}
