-- +goose Up
-- Signing-key rotation (issue #4): the database itself guarantees that an
-- algorithm has at most one key signing ("current") and at most one waiting
-- to sign ("next"), so replicas that rotate at the same moment cannot both
-- win: the loser's INSERT fails with a unique violation, which the store
-- reports as storage.ErrAlreadyExists, and its promotion finds the key
-- already promoted (storage.ErrConflict; see storage.SigningKeys).

-- Releases before this one never created a "next" key, but a start-up race
-- could leave two current keys of one algorithm. Keep the newest, as the
-- provider did when loading them, and retire the others: they stay published
-- for a day so tokens they signed still verify.
UPDATE signing_keys AS k
SET state = 'retired', retired_at = now(), remove_after = now() + interval '1 day'
WHERE k.state = 'current'
  AND EXISTS (
    SELECT 1 FROM signing_keys AS newer
    WHERE newer.algorithm = k.algorithm AND newer.state = 'current'
      AND (newer.created_at, newer.id) > (k.created_at, k.id)
  );

CREATE UNIQUE INDEX signing_keys_one_current_per_algorithm ON signing_keys (algorithm) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next_per_algorithm ON signing_keys (algorithm) WHERE state = 'next';
