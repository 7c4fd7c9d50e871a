package postgres_test

import (
	"errors"
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/postgres"
	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// TestRoundTripCounter checks the tracer's arithmetic on calls whose
// round trips are known: one statement, one batch, nothing.
func TestRoundTripCounter(t *testing.T) {
	counter := &postgres.RoundTripCounter{}
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t), postgres.WithTracer(counter))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		call func() error
		want int64
	}{
		{name: "one query", call: func() error { _, err := st.GetClient(ctx, "nobody"); return ignoreNotFound(err) }, want: 1},
		{name: "a batch is one round trip", call: func() error {
			_, err := st.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{JTI: "j", SessionID: "s", FamilyID: "f", UserID: "u"})
			return err
		}, want: 1},
		{name: "nothing asked, nothing sent", call: func() error {
			_, err := st.GetAccessTokenStatus(ctx, storage.AccessTokenQuery{})
			return err
		}, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil { // warm the statement cache
				t.Fatal(err)
			}
			counter.Reset()
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			if got := counter.RoundTrips(); got != tc.want {
				t.Errorf("round trips = %d, want %d", got, tc.want)
			}
		})
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}
