package api

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

type rangeCase struct {
	name, from, to   string
	wantFrom, wantTo string // RFC 3339 in UTC
	wantErr          bool
}

func rangeCases() []rangeCase {
	return []rangeCase{
		{name: "defaults", wantFrom: "2025-05-31T12:00:00Z", wantTo: "2025-06-01T12:00:00Z"},
		{name: "both", from: "2025-06-01T10:00:00Z", to: "2025-06-01T11:00:00Z", wantFrom: "2025-06-01T10:00:00Z", wantTo: "2025-06-01T11:00:00Z"},
		{name: "only from", from: "2025-06-01T10:00:00Z", wantFrom: "2025-06-01T10:00:00Z", wantTo: "2025-06-01T12:00:00Z"},
		{name: "only to", to: "2025-05-01T00:00:00Z", wantFrom: "2025-04-30T00:00:00Z", wantTo: "2025-05-01T00:00:00Z"},
		{name: "offset and fraction", from: "2025-06-01T12:00:00.123456789+02:00", to: "2025-06-01T11:00:00Z", wantFrom: "2025-06-01T10:00:00.123456789Z", wantTo: "2025-06-01T11:00:00Z"},
		{name: "exactly max", from: "2025-05-01T12:00:00Z", to: "2025-06-01T12:00:00Z", wantFrom: "2025-05-01T12:00:00Z", wantTo: "2025-06-01T12:00:00Z"},
		{name: "over max", from: "2025-05-01T11:59:59Z", to: "2025-06-01T12:00:00Z", wantErr: true},
		{name: "equal", from: "2025-06-01T10:00:00Z", to: "2025-06-01T10:00:00Z", wantErr: true},
		{name: "inverted", from: "2025-06-01T11:00:00Z", to: "2025-06-01T10:00:00Z", wantErr: true},
		{name: "future from", from: "2025-06-02T00:00:00Z", wantErr: true},
		{name: "date only", from: "2025-06-01", wantErr: true},
		{name: "no zone", from: "2025-06-01T10:00:00", wantErr: true},
		{name: "unix", from: "1717236000", wantErr: true},
		{name: "garbage", to: "'; DROP TABLE segments; --", wantErr: true},
		{name: "year zero", from: "0000-01-01T00:00:00Z", wantErr: true},
		{name: "far future", to: "9999-12-31T23:59:59Z", wantFrom: "9999-12-30T23:59:59Z", wantTo: "9999-12-31T23:59:59Z"},
	}
}

func TestParseRange(t *testing.T) {
	t.Parallel()
	for _, tc := range rangeCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := url.Values{}
			if tc.from != "" {
				q.Set("from", tc.from)
			}
			if tc.to != "" {
				q.Set("to", tc.to)
			}
			from, to, err := parseRange(q, testNow(), 24*time.Hour, 31*24*time.Hour)
			if tc.wantErr {
				assertBadRequest(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := from.Format(time.RFC3339Nano); got != tc.wantFrom {
				t.Errorf("from = %s, want %s", got, tc.wantFrom)
			}
			if got := to.Format(time.RFC3339Nano); got != tc.wantTo {
				t.Errorf("to = %s, want %s", got, tc.wantTo)
			}
		})
	}
}

func assertBadRequest(t *testing.T, err error) {
	t.Helper()
	var he *httpError
	if !errors.As(err, &he) || he.status != 400 || he.code != codeBadRequest {
		t.Fatalf("err = %v, want a 400", err)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, tc := range rangeCases() {
		f.Add(tc.from, tc.to)
	}
	f.Fuzz(func(t *testing.T, fromS, toS string) {
		q := url.Values{"from": {fromS}, "to": {toS}}
		from, to, err := parseRange(q, testNow(), 24*time.Hour, 31*24*time.Hour)
		if err != nil {
			assertBadRequest(t, err)
			return
		}
		if !from.Before(to) || to.Sub(from) > 31*24*time.Hour || from.Location() != time.UTC || to.Location() != time.UTC {
			t.Fatalf("accepted %v .. %v", from, to)
		}
	})
}

type eventQueryCase struct {
	name, query string
	wantErr     bool
	limit       int
}

func eventQueryCases() []eventQueryCase {
	return []eventQueryCase{
		{name: "empty", query: ""},
		{name: "all", query: "camera=gate-1&site=north-7&type=motion&from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z&limit=50&cursor=abc", limit: 50},
		{name: "max limit", query: "limit=1000", limit: 1000},
		{name: "zero limit", query: "limit=0", wantErr: true},
		{name: "negative limit", query: "limit=-1", wantErr: true},
		{name: "over limit", query: "limit=1001", wantErr: true},
		{name: "float limit", query: "limit=1.5", wantErr: true},
		{name: "bad camera", query: "camera=..%2F", wantErr: true},
		{name: "bad site", query: "site=%00", wantErr: true},
		{name: "bad type", query: "type=a%20b", wantErr: true},
		{name: "bad time", query: "from=x", wantErr: true},
		{name: "inverted", query: "from=2025-06-02T00:00:00Z&to=2025-06-01T00:00:00Z", wantErr: true},
		{name: "invalid utf8 cursor", query: "cursor=%ff", wantErr: true},
	}
}

func TestParseEventQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range eventQueryCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			eq, err := parseEventQuery(q)
			if tc.wantErr {
				assertBadRequest(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if eq.limit != tc.limit {
				t.Fatalf("limit = %d", eq.limit)
			}
		})
	}
}

func FuzzEventQuery(f *testing.F) {
	for _, tc := range eventQueryCases() {
		f.Add(tc.query)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		eq, err := parseEventQuery(q)
		if err != nil {
			assertBadRequest(t, err)
			return
		}
		if eq.limit < 0 || eq.limit > maxEventLimit || len(eq.cursor) > maxCursorLen {
			t.Fatalf("accepted %+v", eq)
		}
		for _, id := range []string{eq.camera, eq.site} {
			if id != "" && !validID(id) {
				t.Fatalf("accepted id %q", id)
			}
		}
		if !eq.from.IsZero() && !eq.to.IsZero() && !eq.from.Before(eq.to) {
			t.Fatalf("accepted inverted range")
		}
	})
}
