package keys

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// checklist maps the security checklist items (docs/security-checklist.md,
// SECURITY.md) that this package's tests prove to the names of those tests.
// It is data, not a test that re-runs others: `make checklist` prints it,
// and TestChecklistMap checks that every named test exists.
var checklist = []struct {
	id    string
	tests []string
}{
	{"J6/jwks-public-only-unique-kid", []string{"TestJWKSContent"}},
	{"J7/rotation-keeps-old-and-prepublishes-new", []string{"TestRotationKeepsOldTokensAndPrePublishesNewKey"}},
	{"J7+R10/replicas-rotate-at-once", []string{"TestRotationReplicasAtOnce"}},
	{"R10/missing-secret-refused", []string{"TestEnsureRefusesWrongSecret"}},
}

// TestChecklistMap fails when the checklist table names a test that does
// not exist in this package, and logs the table (`make checklist`).
func TestChecklistMap(t *testing.T) {
	have := testNames(t)
	for _, c := range checklist {
		for _, name := range c.tests {
			if !have[name] {
				t.Errorf("checklist %s names %s, which is not a test of this package", c.id, name)
			}
			t.Logf("checklist-map: %s keys.%s", c.id, name)
		}
	}
}

// testNames returns the Test functions of the package's test files.
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	fset := token.NewFileSet()
	for _, f := range files {
		parsed, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range parsed.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") {
				names[fn.Name.Name] = true
			}
		}
	}
	return names
}
