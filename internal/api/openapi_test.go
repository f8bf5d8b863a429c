package api

import (
	"os"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestOpenAPICoversRoutes keeps openapi.yaml and the route table in sync:
// every route is described, and nothing else is.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	e := newEnv(t)
	served := map[string]bool{}
	for _, rt := range e.api.routes() {
		served[rt.pattern()] = true
		if !documented[rt.pattern()] {
			t.Errorf("route %s is not in openapi.yaml", rt.pattern())
		}
	}
	var extra []string
	for op := range documented {
		if !served[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("openapi.yaml describes routes that are not served: %v", extra)
	}
}
