package password_test

import (
	"runtime"
	"testing"

	"github.com/monban-idp/monban/storage/password"
)

// BenchmarkVerify measures one password check at the default (OWASP)
// argon2id cost, the CPU floor of a password sign-in: serially, and with
// as many checks at once as the hasher admits (GOMAXPROCS), which bounds
// a replica's password sign-ins per second.
func BenchmarkVerify(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, runtime.GOMAXPROCS(0))
	phc, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	check := func(b *testing.B) {
		if ok, _, err := h.Verify("correct horse battery staple", phc); err != nil || !ok {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			check(b)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				check(b)
			}
		})
	})
}
