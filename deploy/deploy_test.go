// Package deploy_test checks the deployment files, so that CI catches a
// YAML syntax error or a chart template referring to a value that does
// not exist. (There is no Docker engine or Helm in CI; the files are
// parsed, not run.)
package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// yamlFiles returns every .yaml and .yml file under the deploy directory.
func yamlFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := filepath.Ext(path); !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// isTemplate reports whether path is a Helm template (Go template syntax).
func isTemplate(path string) bool {
	return slices.Contains(strings.Split(filepath.ToSlash(path), "/"), "templates")
}

var (
	// action is one template action, {{ … }}.
	action = regexp.MustCompile(`\{\{-?\s*(.*?)\s*-?\}\}`)
	// controlLine is a line holding only actions (if, with, range, end,
	// include … | nindent): dropped before parsing.
	controlLine = regexp.MustCompile(`^\s*(\{\{.*?\}\}\s*)+$`)
	// valuesRef is a reference to a chart value.
	valuesRef = regexp.MustCompile(`\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)`)
)

// render makes a Helm template parseable: lines of only actions go, every
// other action becomes a placeholder scalar.
func render(src string) string {
	var out []string
	for _, l := range strings.Split(src, "\n") {
		if controlLine.MatchString(l) {
			continue
		}
		out = append(out, action.ReplaceAllString(l, "placeholder"))
	}
	return strings.Join(out, "\n")
}

// checkActions reports unbalanced delimiters and blocks in a template.
func checkActions(t *testing.T, src string) {
	t.Helper()
	if o, c := strings.Count(src, "{{"), strings.Count(src, "}}"); o != c {
		t.Fatalf("%d {{ but %d }}", o, c)
	}
	depth := 0
	for _, m := range action.FindAllStringSubmatch(src, -1) {
		word, _, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(m[1], "/*")), " ")
		switch word {
		case "if", "with", "range", "define", "block":
			depth++
		case "end":
			depth--
		}
		if depth < 0 {
			t.Fatal("{{ end }} without a block")
		}
	}
	if depth != 0 {
		t.Fatalf("%d blocks not closed", depth)
	}
}

// TestYAMLParses parses every YAML file under deploy/: strictly for plain
// files, after the substitution of render for Helm templates.
func TestYAMLParses(t *testing.T) {
	files := yamlFiles(t)
	for _, want := range []string{"compose.yaml", "helm/monban/Chart.yaml", "helm/monban/values.yaml",
		"helm/monban/templates/deployment.yaml"} {
		if !slices.Contains(files, filepath.FromSlash(want)) {
			t.Errorf("%s is missing", want)
		}
	}
	for _, path := range files {
		t.Run(filepath.ToSlash(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			if strings.TrimSpace(src) == "" {
				t.Fatal("empty")
			}
			if isTemplate(path) {
				checkActions(t, src)
				src = render(src)
			}
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
				t.Fatalf("%v\n%s", err, src)
			}
			if len(doc) == 0 {
				t.Fatal("no top-level keys")
			}
		})
	}
}

// TestHelmValuesExist: every .Values path a template uses is in
// values.yaml, so a typo fails here instead of rendering as empty.
func TestHelmValuesExist(t *testing.T) {
	b, err := os.ReadFile("helm/monban/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	templates, err := filepath.Glob("helm/monban/templates/*")
	if err != nil || len(templates) == 0 {
		t.Fatalf("no templates (%v)", err)
	}
	for _, path := range templates {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range valuesRef.FindAllStringSubmatch(string(src), -1) {
			var cur any = values
			for _, key := range strings.Split(strings.TrimPrefix(m[1], "."), ".") {
				mp, ok := cur.(map[string]any)
				if !ok {
					t.Errorf("%s: .Values%s: %q is not a mapping", path, m[1], key)
					break
				}
				if cur, ok = mp[key]; !ok {
					t.Errorf("%s: .Values%s is not in values.yaml", path, m[1])
					break
				}
			}
		}
	}
}

// TestComposeReplicas: the compose file runs PostgreSQL, a migration, two
// replicas and a load balancer, and the replicas' management listeners
// are reachable inside the network.
func TestComposeReplicas(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		service string
		command string
	}{
		{"migration", "migrate", "migrate up"},
		{"replica-1", "monban-1", "serve"},
		{"replica-2", "monban-2", "serve"},
		{"database", "postgres", ""},
		{"load-balancer", "lb", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := doc.Services[tc.service]
			if !ok {
				t.Fatalf("no service %s", tc.service)
			}
			if tc.command == "" {
				return
			}
			if got := strings.Join(s.Command, " "); got != tc.command {
				t.Fatalf("command %q, want %q", got, tc.command)
			}
			if s.Environment["MONBAN_MANAGEMENT_LISTEN"] != ":9090" || s.Environment["MONBAN_ISSUER"] == "" {
				t.Fatalf("environment %v", s.Environment)
			}
		})
	}
}

// TestComposeSecretRecipe: the recipe in compose.yaml's header makes a
// database password that is safe in the URL it is pasted into. base64
// breaks the URL about a third of the time (a "/" ends the user
// information; issue #13 item 17).
func TestComposeSecretRecipe(t *testing.T) {
	b, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	recipe := regexp.MustCompile(`(?m)^#\s+printf '([^']*)' \\\n#\s+(.*) > deploy/\.env$`).FindStringSubmatch(src)
	if recipe == nil {
		t.Fatal("no printf … > deploy/.env recipe in the header")
	}
	keys := regexp.MustCompile(`([A-Z_]+)=%s`).FindAllStringSubmatch(recipe[1], -1)
	cmds := regexp.MustCompile(`"\$\(([^)]*)\)"`).FindAllStringSubmatch(recipe[2], -1)
	if len(keys) != len(cmds) {
		t.Fatalf("%d keys but %d commands in %q", len(keys), len(cmds), recipe[0])
	}
	// Generators whose output has only unreserved URL characters
	// (RFC 3986 §2.3).
	urlSafe := regexp.MustCompile(`^openssl rand -hex \d+$|\| tr '\+/' '-_'( \| tr -d '=')?$`)
	found := false
	for i, k := range keys {
		if k[1] != "POSTGRES_PASSWORD" {
			continue
		}
		found = true
		if !urlSafe.MatchString(cmds[i][1]) {
			t.Errorf("POSTGRES_PASSWORD is made by %q, whose output is not URL-safe; use openssl rand -hex", cmds[i][1])
		}
	}
	if !found {
		t.Fatal("the recipe does not make POSTGRES_PASSWORD")
	}
	if !strings.Contains(src, "monban:${POSTGRES_PASSWORD") {
		t.Fatal("the database URL no longer takes POSTGRES_PASSWORD unencoded: revisit this test")
	}
}

// TestDockerignore: the image is built with the repository root as
// context (compose's context: .., the Dockerfile's own instructions), so
// the root's .dockerignore keeps .git, built binaries and deploy/.env
// (the compose secrets) out of it, without excluding what the build
// needs.
func TestDockerignore(t *testing.T) {
	compose, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(compose), "context: ..\n") {
		t.Fatal("compose's build context is no longer the repository root: move .dockerignore with it")
	}
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatalf("no .dockerignore at the repository root: %v", err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	for _, want := range []string{".git", "deploy/.env", "bin/"} {
		if !slices.Contains(patterns, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "cmd/monban", "migrations", "web", "web/static", "storage", "op", "deploy"} {
		for _, p := range patterns {
			if ok, _ := filepath.Match(strings.TrimSuffix(p, "/"), need); ok {
				t.Errorf(".dockerignore pattern %q excludes %s, which the build needs", p, need)
			}
		}
	}
}

// TestSystemdCredentials: with DynamicUser=yes the service cannot read
// root-owned secret files, so every MONBAN_*_FILE the unit sets points
// into the credentials directory (%d) at a credential LoadCredential=
// reads as root; the header tells no one to point them elsewhere.
func TestSystemdCredentials(t *testing.T) {
	b, err := os.ReadFile("monban.service")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	if !strings.Contains(src, "\nDynamicUser=yes\n") {
		t.Fatal("the unit no longer uses DynamicUser: revisit this test")
	}
	creds := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^LoadCredential=([^:\s]+):/\S+$`).FindAllStringSubmatch(src, -1) {
		creds[m[1]] = true
	}
	files := map[string]bool{}
	for _, m := range regexp.MustCompile(`(MONBAN_[A-Z_]+_FILE)=(\S+)`).FindAllStringSubmatch(src, -1) {
		name, ok := strings.CutPrefix(m[2], "%d/")
		switch {
		case !ok:
			t.Errorf("%s=%s: a dynamic user cannot read it; use LoadCredential= and %%d/", m[1], m[2])
		case !creds[name]:
			t.Errorf("%s=%s: no LoadCredential=%s:…", m[1], m[2], name)
		}
		files[m[1]] = true
	}
	for _, want := range []string{"MONBAN_DATABASE_URL_FILE", "MONBAN_SECRETS_FILE"} {
		if !files[want] {
			t.Errorf("the unit does not set %s", want)
		}
	}
}

// TestHelmSecretRollsPods: the chart's Secret is an ordinary release
// object (a hook resource is neither tracked nor updated like one), no
// hook reads it, and the pods carry its checksum so that changing it
// rolls them.
func TestHelmSecretRollsPods(t *testing.T) {
	secret, err := os.ReadFile("helm/monban/templates/secret.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(secret), "helm.sh/hook") {
		t.Error("the Secret is a Helm hook resource")
	}
	templates, _ := filepath.Glob("helm/monban/templates/*.yaml")
	for _, path := range templates {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "helm.sh/hook") && strings.Contains(string(b), `include "monban.env"`) {
			t.Errorf("%s: a hook reads the Secret, which on install does not exist yet when hooks run", path)
		}
	}
	dep, err := os.ReadFile("helm/monban/templates/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checksum := regexp.MustCompile(`checksum/secret: \{\{ include \(print \$\.Template\.BasePath "/secret\.yaml"\) \. \| sha256sum \}\}`)
	var doc struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `yaml:"annotations"`
				} `yaml:"metadata"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(render(string(dep))), &doc); err != nil {
		t.Fatal(err)
	}
	if !checksum.Match(dep) || doc.Spec.Template.Metadata.Annotations["checksum/secret"] == "" {
		t.Error("the pod template has no checksum/secret annotation of secret.yaml")
	}
}
