package memory_test

import (
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
	"github.com/monban-idp/monban/storage/storagetest"
)

// TestChecklistStore lists the storage-level checklist items (T1, T4, T9,
// R4–R6, S10) for the memory store.
func TestChecklistStore(t *testing.T) {
	storagetest.Checklist(t, func(t *testing.T) storage.Store { return memory.New() })
}
