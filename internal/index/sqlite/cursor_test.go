package sqlite

import (
	"errors"
	"math"
	"testing"
)

func cursorCases() []struct {
	name string
	c    eventCursor
} {
	return []struct {
		name string
		c    eventCursor
	}{
		{"zero", eventCursor{}},
		{"typical", eventCursor{StartUS: 1740787200000000, ID: 12345}},
		{"negative start", eventCursor{StartUS: -62135596800000000, ID: 1}},
		{"max", eventCursor{StartUS: math.MaxInt64, ID: math.MaxInt64}},
		{"min", eventCursor{StartUS: math.MinInt64, ID: 0}},
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, tt := range cursorCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCursor(tt.c.encode())
			if err != nil || got != tt.c {
				t.Errorf("parse(encode(%+v)) = %+v, %v", tt.c, got, err)
			}
		})
	}
}

func TestParseCursorErrors(t *testing.T) {
	for _, s := range []string{"", "!", "AQ", "AgAA", "AQAA=", "AQAAAA", "AQCAgICAgICAgIAC"} {
		if _, err := parseCursor(s); !errors.Is(err, errCursor) {
			t.Errorf("parse %q error = %v, want errCursor", s, err)
		}
	}
}

// FuzzParseCursor checks that parsing never panics and that a parsed
// cursor encodes back to an equivalent cursor.
func FuzzParseCursor(f *testing.F) {
	for _, tt := range cursorCases() {
		f.Add([]byte(tt.c.encode()))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCursor(string(b))
		if err != nil {
			return
		}
		again, err := parseCursor(c.encode())
		if err != nil || again != c {
			t.Fatalf("re-encoded cursor %+v differs: %+v, %v", c, again, err)
		}
	})
}
