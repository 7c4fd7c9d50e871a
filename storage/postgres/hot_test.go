package postgres_test

import (
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
)

// TestRotationIsHOT: marking the presented refresh token rotated changes
// no indexed column (nor one an index predicate reads), so PostgreSQL
// updates it heap-only (HOT) and writes no index entry for it: the
// rotation's index work is the successor's INSERT alone (issue 21).
func TestRotationIsHOT(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	seed(t, s)
	tok := func(i int) *storage.RefreshToken {
		return &storage.RefreshToken{
			ID: "hot" + string(rune('a'+i)), TokenHash: "hot-hash-" + string(rune('a'+i)), FamilyID: "f-hot", ClientID: "c1",
			UserID: "u1", Scopes: []string{"openid"}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), FamilyExpiresAt: t0.Add(24 * time.Hour),
		}
	}
	mustOK(t, s.CreateRefreshToken(ctx, tok(0)), "CreateRefreshToken")
	const n = 5
	err := s.Atomically(ctx, func(tx storage.Store) error {
		// The counters are the backend's pending statistics, which may
		// still hold earlier transactions' counts: compare before and after.
		read := func() (map[string]int64, error) {
			counts := map[string]int64{}
			for _, name := range []string{"updated", "hot_updated", "inserted"} {
				v, err := tx.(*postgres.Store).XactCounter(ctx, name)
				if err != nil {
					return nil, err
				}
				counts[name] = v
			}
			return counts, nil
		}
		before, err := read()
		if err != nil {
			return err
		}
		for i := 1; i <= n; i++ {
			if _, err := tx.RotateRefreshToken(ctx, tok(i-1).TokenHash, tok(i), t0.Add(time.Duration(i)*time.Second), storage.ReuseGrace{}); err != nil {
				return err
			}
		}
		counts, err := read()
		if err != nil {
			return err
		}
		for name := range counts {
			counts[name] -= before[name]
		}
		if counts["updated"] != n || counts["hot_updated"] != n || counts["inserted"] != n {
			t.Errorf("after %d rotations: %v; want %d updates, all HOT, and %d inserts", n, counts, n, n)
		}
		return nil
	})
	mustOK(t, err, "rotate")
}
