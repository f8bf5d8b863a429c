package snapshot

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

var queryCases = []struct {
	raw   string
	want  query
	valid bool
}{
	{"", query{}, true},
	{"at=2026-01-02T03:04:05Z", query{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, true},
	{"at=2026-01-02T03:04:05.123456789%2B01:00", query{At: time.Date(2026, 1, 2, 2, 4, 5, 123456789, time.UTC)}, true},
	{"width=32", query{Width: 32}, true},
	{"width=3840&at=2026-01-02T03:04:05Z", query{At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Width: 3840}, true},
	{"width=31", query{}, false},
	{"width=3841", query{}, false},
	{"width=-5", query{}, false},
	{"width=1e3", query{}, false},
	{"at=2026-01-02", query{}, false},
	{"at=2026-01-02T03:04:05", query{}, false},
	{"at=now", query{}, false},
	{"at=2026-13-02T03:04:05Z", query{}, false},
}

func TestParseQuery(t *testing.T) {
	for _, tc := range queryCases {
		t.Run(tc.raw, func(t *testing.T) {
			v, err := url.ParseQuery(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseQuery(v)
			if (err == nil) != tc.valid {
				t.Fatalf("error %v, want valid=%v", err, tc.valid)
			}
			if err != nil && !errors.Is(err, errQuery) {
				t.Errorf("error %v does not wrap errQuery", err)
			}
			if !got.At.Equal(tc.want.At) || got.Width != tc.want.Width {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, tc := range queryCases {
		f.Add(tc.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseQuery(v)
		if err != nil {
			if !errors.Is(err, errQuery) {
				t.Fatalf("error %v does not wrap errQuery", err)
			}
			return
		}
		if q.Width != 0 && (q.Width < minWidth || q.Width > maxWidth) {
			t.Fatalf("width %d accepted", q.Width)
		}
	})
}
