package main

import (
	"testing"

	"github.com/monban-idp/monban/storage"
	"github.com/monban-idp/monban/storage/memory"
)

// forEachStore runs fn against every backend: the memory store and a fresh
// PostgreSQL database.
func forEachStore(t *testing.T, fn func(t *testing.T, store storage.Store)) {
	t.Run("memory", func(t *testing.T) { fn(t, memory.New()) })
	t.Run("postgres", func(t *testing.T) { fn(t, newPostgresStore(t)) })
}
