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
