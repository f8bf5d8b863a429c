package hls

import (
	"net/url"
	"testing"
)

var fileCases = []struct {
	name string
	ref  fileRef
	ok   bool
}{
	{"init-1.mp4", fileRef{kind: fileInit, a: 1}, true},
	{"init-0.mp4", fileRef{kind: fileInit, a: 0}, true},
	{"s0.mp4", fileRef{kind: fileSegment, a: 0}, true},
	{"s18446744073709551615.mp4", fileRef{kind: fileSegment, a: 1<<64 - 1}, true},
	{"p12.3.mp4", fileRef{kind: filePart, a: 12, b: 3}, true},
	{"s18446744073709551616.mp4", fileRef{}, false},
	{"s01.mp4", fileRef{}, false},
	{"s+1.mp4", fileRef{}, false},
	{"s-1.mp4", fileRef{}, false},
	{"s.mp4", fileRef{}, false},
	{"p1.mp4", fileRef{}, false},
	{"p1..mp4", fileRef{}, false},
	{"p1.2.3.mp4", fileRef{}, false},
	{"init-.mp4", fileRef{}, false},
	{"init-1.m4s", fileRef{}, false},
	{"../s1.mp4", fileRef{}, false},
	{"x1.mp4", fileRef{}, false},
	{"", fileRef{}, false},
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	for _, tc := range fileCases {
		ref, err := parseFile(tc.name)
		if (err == nil) != tc.ok || ref != tc.ref {
			t.Errorf("parseFile(%q) = %+v, %v; want %+v, ok %v", tc.name, ref, err, tc.ref, tc.ok)
		}
		if tc.ok {
			if got := string(fileName(nil, tc.ref)); got != tc.name {
				t.Errorf("fileName(%+v) = %q, want %q", tc.ref, got, tc.name)
			}
		}
	}
}

// FuzzParseFile: a name is accepted only in its canonical form.
func FuzzParseFile(f *testing.F) {
	for _, tc := range fileCases {
		f.Add(tc.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ref, err := parseFile(name)
		if err != nil {
			return
		}
		if got := string(fileName(nil, ref)); got != name {
			t.Fatalf("parseFile(%q) = %+v, which is named %q", name, ref, got)
		}
	})
}

var blockCases = []struct {
	query string
	want  blockRequest
	ok    bool
}{
	{"", blockRequest{part: -1}, true},
	{"_HLS_skip=YES", blockRequest{part: -1}, true},
	{"_HLS_msn=5", blockRequest{block: true, msn: 5, part: -1}, true},
	{"_HLS_msn=5&_HLS_part=0", blockRequest{block: true, msn: 5, part: 0}, true},
	{"_HLS_msn=18446744073709551615&_HLS_part=65536", blockRequest{block: true, msn: 1<<64 - 1, part: 65536}, true},
	{"_HLS_msn=5&_HLS_part=65537", blockRequest{}, false},
	{"_HLS_part=1", blockRequest{}, false},
	{"_HLS_msn=", blockRequest{}, false},
	{"_HLS_msn=-1", blockRequest{}, false},
	{"_HLS_msn=1e3", blockRequest{}, false},
	{"_HLS_msn=1&_HLS_part=-1", blockRequest{}, false},
	{"_HLS_msn=1&_HLS_msn=1", blockRequest{}, false},
	{"_HLS_msn=1&_HLS_part=1&_HLS_part=2", blockRequest{}, false},
}

func TestParseBlock(t *testing.T) {
	t.Parallel()
	for _, tc := range blockCases {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseBlock(q)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseBlock(%q) = %+v, %v; want %+v, ok %v", tc.query, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseBlock: any query is either refused or gives sane parameters.
func FuzzParseBlock(f *testing.F) {
	for _, tc := range blockCases {
		f.Add(tc.query)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		br, err := parseBlock(q)
		if err != nil {
			return
		}
		if br.part < -1 || br.part > maxPartIndex || (!br.block && br.part != -1) {
			t.Fatalf("parseBlock(%q) = %+v", raw, br)
		}
		if br.block && len(q["_HLS_msn"]) != 1 {
			t.Fatalf("parseBlock(%q) blocks without one _HLS_msn", raw)
		}
	})
}
