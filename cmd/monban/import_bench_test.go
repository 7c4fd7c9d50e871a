package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/monban-idp/monban/storage/postgres/pgtest"
)

// BenchmarkImport100k imports 100,000 users (JSON Lines, with standard
// claims, an attribute and a bcrypt hash each) into a fresh PostgreSQL
// database through "monban user import", batches of 1,000. Issue #15
// asks for under a minute on the 2-core machine; BENCHMARKS.md records
// the result. Run: go test -run '^$' -bench Import100k -benchtime 1x ./cmd/monban
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	file := filepath.Join(b.TempDir(), "users.jsonl")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintf(w, `{"username":"user%06d","email":"user%06d@example.com","email_verified":true,"name":"User %d",`+
			`"given_name":"User","family_name":"%d","locale":"en-US","zoneinfo":"Europe/Paris",`+
			`"attributes":{"dept":"d%d"},"password_hash":"$2y$10$PixxPQb5YXFpFvunvyxly.1oRlF6Qywo6kLSxF8Tr.eqbEkUFeGn2"}`+"\n",
			i, i, i, i, i%50)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for b.Loop() {
		b.StopTimer()
		env := map[string]string{"MONBAN_DATABASE_URL": pgtest.NewDatabase(b)}
		b.StartTimer()
		r := run(b.Context(), []string{"user", "import", file}, nil, discard{}, discard{}, envMap(env))
		if r != 0 {
			b.Fatalf("import exited %d", r)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
}

// discard is an io.Writer that drops everything (not a terminal: no
// progress line).
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
