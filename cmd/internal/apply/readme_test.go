package apply

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEExample: the example of the README's "Configuration as code"
// section is a valid file that plans what it says.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "# monban.yaml\n")
	if !ok {
		t.Fatal("README has no monban.yaml example")
	}
	example, _, _ := strings.Cut(rest, "```")
	f, err := Decode(strings.NewReader(example))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	env := testEnv()
	read := env.ReadFile
	env.ReadFile = func(p string) ([]byte, error) {
		if p == "/run/secrets/shop" {
			return []byte(secretA), nil
		}
		return read(p)
	}
	d, err := Desire(f, env)
	if err != nil {
		t.Fatalf("Desire: %v", err)
	}
	p, err := MakePlan(&State{}, d, Options{})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	if p.Count(Create) != 4 {
		t.Errorf("the example plans %d creations, want 4", p.Count(Create))
	}
}
