package main

import (
	"testing"

	"github.com/monban-idp/monban/storage/clientpolicy"
	"github.com/monban-idp/monban/storage/memory"
)

// TestSeedClientsPassThePolicy (issue #13 item 5): the clients `serve
// --dev` (make run) seeds, http://app1.localhost among them, are ones an
// operator could register with `client add` or the console: the same
// clientpolicy accepts them.
func TestSeedClientsPassThePolicy(t *testing.T) {
	store := memory.New()
	if _, err := seedDemo(t.Context(), store); err != nil {
		t.Fatalf("seedDemo: %v", err)
	}
	for _, want := range demoClients {
		t.Run(want.ID, func(t *testing.T) {
			c, err := store.GetClient(t.Context(), want.ID)
			if err != nil {
				t.Fatal(err)
			}
			if errs := clientpolicy.ValidateClient(c); len(errs) > 0 {
				t.Errorf("seeded client %s is refused by the client policy:\n%v", c.ID, errs)
			}
		})
	}
}
