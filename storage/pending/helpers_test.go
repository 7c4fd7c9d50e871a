package pending

import (
	"errors"
	"testing"
	"time"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/storagetest"
)

// mustMake returns what newFn (New or NewCodeSealer) makes with key k on
// clock, failing the test on an error.
func mustMake[S any](t testing.TB, newFn func([]byte, func() time.Time) (S, error), k []byte, clock *storagetest.Clock) S {
	t.Helper()
	s, err := newFn(k, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// opener is what Sealer and CodeSealer share: Open.
type opener func(string) (*storage.AuthRequest, error)

// flipped is v with its character at i changed (to 'A', or to 'B' where
// it was 'A'): one tampered base64url character.
func flipped(v string, i int) string {
	b := []byte(v)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// refusal is a value Open must refuse, with the error it must match.
type refusal struct {
	name  string
	value func() string
	want  error
}

// checkRefusals opens each value and wants nothing opened and a
// *pending.Error matching the case's error.
func checkRefusals(t *testing.T, open opener, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := open(tc.value())
			var pe *Error
			if got != nil || !errors.Is(err, tc.want) || !errors.As(err, &pe) {
				t.Fatalf("Open = %v, %v; want a *pending.Error matching %v", got, err, tc.want)
			}
		})
	}
}

// moment is a time at which sealed opens (want nil) or fails with want.
type moment struct {
	name string
	at   time.Time
	want error
}

// checkExpiry opens sealed with clock set to each moment.
func checkExpiry(t *testing.T, clock *storagetest.Clock, open opener, sealed string, moments []moment) {
	t.Helper()
	for _, tc := range moments {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(tc.at)
			_, err := open(sealed)
			if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Open at %v: %v, want %v", tc.at, err, tc.want)
			}
		})
	}
}
