package api

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCorpus writes seeds as testdata/fuzz/<target>/seed-NN files (the
// go test fuzz v1 format) when VIGIL_WRITE_CORPUS=1, so the committed
// corpus follows the tables that feed the unit tests.
func writeCorpus(t *testing.T, target string, seeds [][]any) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, args := range seeds {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch v := a.(type) {
			case string:
				fmt.Fprintf(&b, "string(%q)\n", v)
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			default:
				t.Fatalf("unsupported corpus type %T", a)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteFuzzCorpus regenerates the seed corpora from the tables.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") != "1" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	var rng, evq, src [][]any
	for _, c := range rangeCases() {
		rng = append(rng, []any{c.from, c.to})
	}
	for _, c := range eventQueryCases() {
		evq = append(evq, []any{c.query})
	}
	for _, c := range sourceCases() {
		src = append(src, []any{c.stored, c.next})
	}
	writeCorpus(t, "FuzzParseRange", rng)
	writeCorpus(t, "FuzzEventQuery", evq)
	writeCorpus(t, "FuzzSource", src)
}
