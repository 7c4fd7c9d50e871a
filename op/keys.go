package op

import (
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

	"github.com/monban-idp/monban/storage"
)

// SupportedAlgorithms are the JWS algorithms monban can sign with. RS256 is
// mandatory to implement for ID tokens (OIDC Core §15.1).
var SupportedAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.PS256, jose.EdDSA}

// KeyEncryptionKeys encrypt signing keys at rest with AES-256-GCM. The
// first key encrypts; every key is tried when decrypting, so an operator can
// move to a new secret by putting it first.
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

// seal encrypts plaintext, binding it to the key ID as additional data so a
// ciphertext cannot be moved to another key row.
func (k *KeyEncryptionKeys) seal(kid string, plaintext []byte) []byte {
	aead := k.aeads[0]
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, plaintext, []byte(kid))
}

func (k *KeyEncryptionKeys) open(kid string, sealed []byte) ([]byte, error) {
	for _, aead := range k.aeads {
		if len(sealed) < aead.NonceSize() {
			break
		}
		nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
		if pt, err := aead.Open(nil, nonce, ct, []byte(kid)); err == nil {
			return pt, nil
		}
	}
	return nil, fmt.Errorf("signing key %s cannot be decrypted with the configured secrets (wrong or missing MONBAN_SECRETS?)", kid)
}

// signingKey is a parsed private key with a cached signer per JWS `typ`.
type signingKey struct {
	id      string
	alg     jose.SignatureAlgorithm
	private crypto.Signer
	mu      sync.Mutex
	signers map[string]jose.Signer
}

func (k *signingKey) signer(typ string) (jose.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.signers[typ]; ok {
		return s, nil
	}
	s, err := jose.NewSigner(
		jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.private, KeyID: k.id, Algorithm: string(k.alg), Use: "sig"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)),
	)
	if err != nil {
		return nil, err
	}
	k.signers[typ] = s
	return s, nil
}

// keySet is an immutable snapshot of the usable keys.
type keySet struct {
	current map[jose.SignatureAlgorithm]*signingKey // signing key per algorithm
	public  map[string]jose.JSONWebKey              // every published key by kid
	jwks    []byte                                  // serialized JWKS document
	etag    string
}

// Keys loads signing keys from the store, keeps them parsed in memory and
// serves the JWKS from precomputed bytes.
type Keys struct {
	store storage.SigningKeys
	kek   *KeyEncryptionKeys
	now   func() time.Time
	set   atomic.Pointer[keySet]
}

// NewKeys returns a key manager over store. Call Load (or Ensure) before use.
func NewKeys(store storage.SigningKeys, kek *KeyEncryptionKeys, now func() time.Time) *Keys {
	return &Keys{store: store, kek: kek, now: now}
}

// Ensure creates a current key for each algorithm in algs that has none,
// then loads the key set.
func (k *Keys) Ensure(ctx context.Context, algs ...jose.SignatureAlgorithm) error {
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	for _, alg := range algs {
		if slices.ContainsFunc(stored, func(s *storage.SigningKey) bool {
			return s.State == storage.KeyCurrent && s.Algorithm == string(alg)
		}) {
			continue
		}
		if _, err := k.Generate(ctx, alg, storage.KeyCurrent); err != nil {
			return err
		}
	}
	return k.Load(ctx)
}

// Generate creates, encrypts and stores a new key in the given state.
func (k *Keys) Generate(ctx context.Context, alg jose.SignatureAlgorithm, state string) (string, error) {
	priv, err := generatePrivateKey(alg)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("marshal %s key: %w", alg, err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(priv.Public())
	sum := sha256.Sum256(pub)
	kid := hex.EncodeToString(sum[:12]) // key thumbprint: stable, unique, not secret
	now := k.now().UTC()
	rec := &storage.SigningKey{
		ID: kid, Algorithm: string(alg), State: state,
		EncryptedKey: k.kek.seal(kid, der), CreatedAt: now,
	}
	if state == storage.KeyCurrent {
		rec.ActivatedAt = now
	}
	if err := k.store.CreateSigningKey(ctx, rec); err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return kid, nil
}

func generatePrivateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.RS256, jose.PS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
}

// Load reads every key from the store, decrypts and parses it, and swaps in
// the new snapshot. A key that cannot be decrypted is a hard error: the
// provider must never silently mint new keys over a configuration mistake.
func (k *Keys) Load(ctx context.Context) error {
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("list signing keys: %w", err)
	}
	set := &keySet{current: map[jose.SignatureAlgorithm]*signingKey{}, public: map[string]jose.JSONWebKey{}}
	var published []jose.JSONWebKey
	for _, rec := range stored { // oldest first: a newer current key wins
		der, err := k.kek.open(rec.ID, rec.EncryptedKey)
		if err != nil {
			return err
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			return fmt.Errorf("parse signing key %s: %w", rec.ID, err)
		}
		priv, ok := parsed.(crypto.Signer)
		if !ok {
			return fmt.Errorf("signing key %s is not a signer", rec.ID)
		}
		alg := jose.SignatureAlgorithm(rec.Algorithm)
		jwk := jose.JSONWebKey{Key: priv.Public(), KeyID: rec.ID, Algorithm: rec.Algorithm, Use: "sig"}
		set.public[rec.ID] = jwk
		published = append(published, jwk)
		if rec.State == storage.KeyCurrent {
			set.current[alg] = &signingKey{id: rec.ID, alg: alg, private: priv, signers: map[string]jose.Signer{}}
		}
	}
	set.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: published})
	if err != nil {
		return fmt.Errorf("marshal JWKS: %w", err)
	}
	sum := sha256.Sum256(set.jwks)
	set.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	k.set.Store(set)
	return nil
}

// signer returns the current key for alg.
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

// Algorithms returns the algorithms that have a current signing key, sorted.
func (k *Keys) Algorithms() []string {
	set := k.set.Load()
	if set == nil {
		return nil
	}
	var algs []string
	for alg := range set.current {
		algs = append(algs, string(alg))
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

// JWKS returns the serialized public key set and its entity tag.
func (k *Keys) JWKS() (body []byte, etag string) {
	set := k.set.Load()
	if set == nil {
		return []byte(`{"keys":[]}`), `"empty"`
	}
	return set.jwks, set.etag
}
