package password

import (
	"testing"
	"testing/synctest"
)

var fast = Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestVerifyDummyUsesHasherParams(t *testing.T) {
	tests := []struct {
		name   string
		params Params
	}{
		{"fast", fast},
		{"other shape", Params{Memory: 256, Iterations: 3, Parallelism: 2, SaltLen: 24, KeyLen: 48}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHasher(tc.params, 1)
			h.VerifyDummy("anything")
			got, _, _, err := decode(h.dummy)
			if err != nil {
				t.Fatalf("dummy hash %q does not parse: %v", h.dummy, err)
			}
			if got != tc.params {
				t.Errorf("dummy hash params = %+v, want the hasher's %+v", got, tc.params)
			}
			for _, pw := range []string{"", "anything", "hunter2"} {
				if ok, _, err := h.Verify(pw, h.dummy); ok || err != nil {
					t.Errorf("Verify(%q, dummy) = %v, %v; want false, nil", pw, ok, err)
				}
			}
		})
	}
}

// TestConcurrencyIsBounded shows that every operation that hashes waits for
// a free semaphore slot: with all slots taken it blocks, and it finishes
// once one is released.
func TestConcurrencyIsBounded(t *testing.T) {
	tests := []struct {
		name string
		op   func(h *Hasher, stored string)
	}{
		{"Hash", func(h *Hasher, _ string) { _, _ = h.Hash("pw") }},
		{"Verify", func(h *Hasher, stored string) { _, _, _ = h.Verify("pw", stored) }},
		{"VerifyDummy", func(h *Hasher, _ string) { h.VerifyDummy("pw") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const slots = 3
				h := NewHasher(fast, slots)
				stored, err := h.Hash("pw")
				if err != nil {
					t.Fatal(err)
				}
				for range slots {
					h.sem <- struct{}{}
				}
				done := make(chan struct{})
				go func() {
					tc.op(h, stored)
					close(done)
				}()
				synctest.Wait()
				select {
				case <-done:
					t.Fatalf("%s finished while every slot was taken", tc.name)
				default:
				}
				<-h.sem
				synctest.Wait()
				select {
				case <-done:
				default:
					t.Fatalf("%s still blocked after a slot was freed", tc.name)
				}
				for range slots - 1 {
					<-h.sem
				}
			})
		})
	}
}
