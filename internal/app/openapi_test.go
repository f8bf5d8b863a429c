package app

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-video/vigil/internal/config"
)

// TestOpenAPIMatchesHubRoutes keeps internal/api/openapi.yaml true to what
// a hub serves: every route (the API's own and those live view, playback,
// exports and snapshots add) is described, and nothing else is.
func TestOpenAPIMatchesHubRoutes(t *testing.T) {
	raw, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	cfg, err := config.Parse([]byte("data: " + filepath.Join(t.TempDir(), "data") + "\nhttp: 127.0.0.1:0\nrtsp: 127.0.0.1:0\n"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_ADMIN_PASSWORD", "openapi-test-pass")
	h, err := newHub(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	served := map[string]bool{}
	for _, p := range frontRoutes {
		served[p] = true
		if !documented[p] {
			t.Errorf("route %s (served in front of the API) is not in openapi.yaml", p)
		}
	}
	for _, p := range h.api.Patterns() {
		served[p] = true
		if !documented[p] {
			t.Errorf("route %s is not in openapi.yaml", p)
		}
	}
	for p := range auditOf {
		if !served[p] {
			t.Errorf("auditOf names %s, which the hub does not serve", p)
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
		t.Errorf("openapi.yaml describes routes the hub does not serve: %v", extra)
	}
}
