package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monban-idp/monban/storage"
)

// KeyRotation is what ForceRotate did for one algorithm.
type KeyRotation struct {
	Algorithm string
	// Rotated is false when the next key had not been published for the
	// lead and ForceRotate was not told to promote it anyway (see RetryAt).
	Rotated bool
	Retired string // the key that stopped signing; empty if none
	Current string // the key signing now
	Next    string // the key published to sign next
	// PublishedFor is how long Current was in the JWKS before it started
	// signing (when Rotated; zero for a first key).
	PublishedFor time.Duration
	// RetryAt is, when not Rotated, when the next key will have been
	// published for the lead.
	RetryAt time.Time
}

// ForceRotate rotates the keys of algs now instead of at the end of the
// period (`monban keys rotate`, for instance after a suspected compromise):
// the next key becomes current, the current key retires (and stays
// published until its RemoveAfter), and a new next key is created.
//
// It promotes the pre-published next key, so a forced rotation is as safe
// for relying parties that cache the JWKS as a scheduled one, provided the
// next key has been published for the lead. Normally it has been for most
// of a period: Rotate creates it at the previous rotation. When it has not
// (it is younger than the lead, or missing and created now), that algorithm
// is not rotated and RetryAt says when to run again, unless immediately is
// set. Then the key signs at once, and a relying party whose cached JWKS
// predates it cannot verify its tokens until it fetches the JWKS again (up
// to JWKSMaxAge for one that honours Cache-Control; most libraries refetch
// on an unknown kid). That is for when a compromised key signing on is the
// greater harm.
//
// Running replicas switch to the new key at their next refresh (within
// DefaultKeyRefresh); until then they sign with the retired key, which
// still verifies. An algorithm with no key at all gets a current key.
func (k *Keys) ForceRotate(ctx context.Context, immediately bool, algs ...jose.SignatureAlgorithm) ([]KeyRotation, error) {
	now := k.clock()
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	var out []KeyRotation
	var errs []error
	for _, alg := range algs {
		r, err := k.forceRotate(ctx, alg, stored, immediately, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", alg, err))
			continue
		}
		out = append(out, r)
	}
	if err := k.Load(ctx); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

func (k *Keys) forceRotate(ctx context.Context, alg jose.SignatureAlgorithm, stored []*storage.SigningKey, immediately bool, now time.Time) (KeyRotation, error) {
	r := KeyRotation{Algorithm: string(alg)}
	cur, next := keysOf(stored, alg)
	if cur == nil && next == nil {
		rec, err := k.createOne(ctx, alg, storage.KeyCurrent, now)
		if err != nil {
			return r, err
		}
		r.Rotated, r.Current = true, rec.ID
	} else {
		if next == nil {
			rec, err := k.createOne(ctx, alg, storage.KeyNext, now)
			if err != nil {
				return r, err
			}
			next = rec
		}
		if cur != nil {
			r.Current = cur.ID
		}
		if ready := next.CreatedAt.Add(k.policy.Lead); now.Before(ready) && !immediately {
			r.Next, r.RetryAt = next.ID, ready
			return r, nil
		}
		err := k.store.PromoteSigningKey(ctx, next.ID, now, k.removeAfter(now))
		if errors.Is(err, storage.ErrConflict) || errors.Is(err, storage.ErrNotFound) {
			return r, errors.New("the keys changed while rotating (another replica rotated them): check `monban keys list`")
		} else if err != nil {
			return r, fmt.Errorf("promote signing key %s: %w", next.ID, err)
		}
		r.Rotated, r.Retired, r.Current, r.PublishedFor = true, r.Current, next.ID, now.Sub(next.CreatedAt)
	}
	rec, err := k.createOne(ctx, alg, storage.KeyNext, now)
	if err != nil {
		return r, err
	}
	r.Next = rec.ID
	return r, nil
}

// createOne generates and stores one key. A concurrent writer that created
// a key of the same algorithm and state first makes it fail.
func (k *Keys) createOne(ctx context.Context, alg jose.SignatureAlgorithm, state string, now time.Time) (*storage.SigningKey, error) {
	rec, err := k.newKey(alg, state, now)
	if err != nil {
		return nil, err
	}
	if err := k.store.CreateSigningKey(ctx, rec); errors.Is(err, storage.ErrAlreadyExists) {
		return nil, fmt.Errorf("another replica created a %s key at the same time: check `monban keys list`", state)
	} else if err != nil {
		return nil, fmt.Errorf("store signing key: %w", err)
	}
	return rec, nil
}

// ReencryptResult lists the keys Reencrypt rewrote and those it left
// alone because they were already encrypted under the first secret.
type ReencryptResult struct {
	Reencrypted []string
	Unchanged   []string
}

// Reencrypt re-encrypts every stored key under the first secret
// (`monban keys reencrypt`). To replace a secret: configure the new one
// first and the old one after it on every replica, run Reencrypt, then
// drop the old secret.
//
// It decrypts every key before it writes anything, so a key that no
// configured secret opens changes nothing. Keys already under the first
// secret are left alone, which makes it idempotent. It writes ciphertexts
// only, so it is safe while replicas rotate keys.
func (k *Keys) Reencrypt(ctx context.Context) (ReencryptResult, error) {
	var res ReencryptResult
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return res, fmt.Errorf("list signing keys: %w", err)
	}
	plain := make(map[string][]byte)
	var errs []error
	for _, rec := range stored {
		der, secret, err := k.kek.open(rec.ID, rec.EncryptedKey)
		switch {
		case err != nil:
			errs = append(errs, err)
		case secret == 0:
			res.Unchanged = append(res.Unchanged, rec.ID)
		default:
			plain[rec.ID] = der
		}
	}
	if len(errs) > 0 {
		return ReencryptResult{}, errors.Join(errs...)
	}
	for _, rec := range stored {
		der, ok := plain[rec.ID]
		if !ok {
			continue
		}
		switch err := k.store.UpdateSigningKeyCiphertext(ctx, rec.ID, k.kek.seal(rec.ID, der)); {
		case errors.Is(err, storage.ErrNotFound): // removed meanwhile
		case err != nil:
			return res, fmt.Errorf("re-encrypt signing key %s: %w", rec.ID, err)
		default:
			res.Reencrypted = append(res.Reencrypted, rec.ID)
		}
	}
	return res, nil
}
