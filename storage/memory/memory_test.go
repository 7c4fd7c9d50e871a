package memory_test

import (
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s := memory.New()
		t.Cleanup(s.Close)
		return s
	})
}

// TestReplicas: the memory store has one replica, so both are the same.
func TestReplicas(t *testing.T) {
	storagetest.RunReplicas(t, func(t *testing.T) (storage.Store, storage.Store) {
		s := memory.New()
		t.Cleanup(s.Close)
		return s, s
	})
}
