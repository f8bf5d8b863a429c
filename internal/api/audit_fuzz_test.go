package api

import (
	"net/http/httptest"
	"testing"
	"unicode/utf8"
)

// auditQueryCases seed FuzzParseAuditQuery.
var auditQueryCases = []string{
	"",
	"user=ann&camera=gate-1&action=playback&from=2025-06-01T10:00:00Z&to=2025-06-01T11:00:00Z&limit=50&cursor=17",
	"limit=0",
	"limit=1001",
	"from=yesterday",
	"user=%00",
	"user=' OR 1=1 --&camera=../../x",
	"cursor=%ff%fe",
	"action=%e2%80%ae",
}

// FuzzParseAuditQuery checks that a query is either refused or gives a
// filter within the limits: valid UTF-8 without control characters, at
// most 256 bytes per field, a limit of 0 (default) to 1000.
func FuzzParseAuditQuery(f *testing.F) {
	for _, c := range auditQueryCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/api/v1/audit", nil)
		r.URL.RawQuery = raw
		flt, err := parseAuditQuery(r)
		if err != nil {
			return
		}
		for _, v := range []string{flt.User, flt.Camera, flt.Action, flt.Cursor} {
			if len(v) > 256 || !utf8.ValidString(v) || !validQueryText(v) {
				t.Fatalf("%q: accepted %q", raw, v)
			}
		}
		if flt.Limit < 0 || flt.Limit > 1000 {
			t.Fatalf("%q: limit %d", raw, flt.Limit)
		}
		if !flt.From.IsZero() && flt.From.Year() < 1970 {
			t.Fatalf("%q: from %v", raw, flt.From)
		}
	})
}
