package keys

import "errors"

// Seal encrypts a secret other than a signing key (a person's TOTP secret,
// issue 17) under the first key-encryption secret with AES-256-GCM, bound
// to aad (e.g. "totp:" and the user ID), so a ciphertext cannot be moved
// to another row. aad must not look like a signing key ID; callers
// prefix it with their purpose.
func (k *KeyEncryptionKeys) Seal(aad string, plaintext []byte) []byte {
	return k.seal(aad, plaintext)
}

// Open decrypts what Seal returned for the same aad, with the first
// secret that can (so secrets can rotate as for signing keys).
func (k *KeyEncryptionKeys) Open(aad string, sealed []byte) ([]byte, error) {
	pt, _, err := k.open(aad, sealed)
	if err != nil {
		return nil, errors.New("keys: a sealed secret cannot be decrypted with the configured secrets")
	}
	return pt, nil
}
