package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

type sourceCase struct {
	name, stored, next string
	want               string // stored after merge
	wantErr            bool
}

func sourceCases() []sourceCase {
	const s = "rtsp://user:pass@10.0.0.5:554/stream1"
	return []sourceCase{
		{name: "stripped back", stored: s, next: "rtsp://10.0.0.5:554/stream1", want: s},
		{name: "new path", stored: s, next: "rtsp://10.0.0.5:554/s2?x=1", want: "rtsp://user:pass@10.0.0.5:554/s2?x=1"},
		{name: "default port", stored: s, next: "rtsp://10.0.0.5/s", want: "rtsp://user:pass@10.0.0.5/s"},
		{name: "rtsps default port differs", stored: s, next: "rtsps://10.0.0.5/s", want: "rtsps://10.0.0.5/s"},
		{name: "host case", stored: "rtsp://u:p@Cam.Local/s", next: "rtsp://cam.local/s", want: "rtsp://u:p@cam.local/s"},
		{name: "other host", stored: s, next: "rtsp://10.0.0.6:554/stream1", want: "rtsp://10.0.0.6:554/stream1"},
		{name: "replace", stored: s, next: "rtsp://a:b@10.0.0.5:554/stream1", want: "rtsp://a:b@10.0.0.5:554/stream1"},
		{name: "user only", stored: s, next: "rtsp://a@10.0.0.5:554/stream1", want: "rtsp://a@10.0.0.5:554/stream1"},
		{name: "clear", stored: s, next: "rtsp://@10.0.0.5:554/stream1", want: "rtsp://10.0.0.5:554/stream1"},
		{name: "to push", stored: s, next: "", want: ""},
		{name: "from push", stored: "", next: "rtsp://10.0.0.5/s", want: "rtsp://10.0.0.5/s"},
		{name: "escaped password", stored: "rtsp://u:p%40ss%2F@h/s", next: "rtsp://h/t", want: "rtsp://u:p%40ss%2F@h/t"},
		{name: "ipv6", stored: "rtsp://u:p@[fe80::1]:554/s", next: "rtsp://[fe80::1]:554/t", want: "rtsp://u:p@[fe80::1]:554/t"},
		{name: "upper scheme", stored: "", next: "RTSP://h/s", want: "rtsp://h/s"},
		{name: "http", stored: s, next: "http://u:p@h/", wantErr: true},
		{name: "no host", stored: s, next: "rtsp:///s", wantErr: true},
		{name: "opaque", stored: s, next: "rtsp:u:p@h", wantErr: true},
		{name: "bad port", stored: s, next: "rtsp://h:0/", wantErr: true},
		{name: "port range", stored: s, next: "rtsp://h:65536/", wantErr: true},
		{name: "space", stored: s, next: "rtsp://u:p w@h/", wantErr: true},
		{name: "unparsable", stored: s, next: "rtsp://u:secret@[::1", wantErr: true},
		{name: "relative", stored: s, next: "/stream", wantErr: true},
	}
}

func TestMergeSource(t *testing.T) {
	t.Parallel()
	for _, tc := range sourceCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := mergeSource(tc.stored, tc.next)
			if tc.wantErr {
				assertBadRequest(t, err)
				if strings.Contains(err.Error(), tc.next) {
					t.Fatalf("error quotes the source: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("merged = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStripSource(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"rtsp://user:pass@10.0.0.5:554/stream1": "rtsp://10.0.0.5:554/stream1",
		"rtsp://user@h/s?q=1":                   "rtsp://h/s?q=1",
		"rtsp://h/s":                            "rtsp://h/s",
		"":                                      "",
		"rtsp://u:p@[::1":                       "(invalid)",
	}
	for in, want := range tests {
		if got := stripSource(in); got != want {
			t.Errorf("stripSource(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRedactSource(t *testing.T) {
	t.Parallel()
	u, err := url.Parse("rtsp://admin:p%40ss%2Fw0rd@10.0.0.5/s")
	if err != nil {
		t.Fatal(err)
	}
	stored := u.String()
	tests := map[string]string{
		"dial " + stored + ": refused":       "dial rtsp://10.0.0.5/s: refused",
		"auth failed for p@ss/w0rd":          "auth failed for ***",
		"escaped p%40ss%2Fw0rd in a message": "escaped *** in a message",
		"nothing secret":                     "nothing secret",
	}
	for in, want := range tests {
		if got := redactSource(in, stored); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := redactSource("x", "rtsp://h/s"); got != "x" {
		t.Errorf("no credentials: %q", got)
	}
}

func FuzzSource(f *testing.F) {
	for _, tc := range sourceCases() {
		f.Add(tc.stored, tc.next)
	}
	f.Fuzz(func(t *testing.T, stored, next string) {
		merged, err := mergeSource(stored, next)
		if err != nil {
			assertBadRequest(t, err)
			// Messages are fixed texts: an input longer than the message
			// can only appear in it if it was quoted.
			var he *httpError
			errors.As(err, &he)
			if msg := he.msg; len(next) > len(msg) && strings.Contains(msg, next) {
				t.Fatalf("error quotes the source: %v", err)
			}
			return
		}
		if merged == "" {
			return
		}
		if _, err := parseSource(merged); err != nil {
			t.Fatalf("merged %q does not parse: %v", merged, err)
		}
		stripped := stripSource(merged)
		if u, err := url.Parse(stripped); err != nil || u.User != nil {
			t.Fatalf("stripped %q keeps userinfo", stripped)
		}
		u, _ := url.Parse(merged)
		if pw, ok := u.User.Password(); ok && len(pw) > 0 && !strings.Contains(pw, "*") {
			if red := redactSource("error: "+merged+" "+pw, merged); strings.Contains(red, pw) {
				t.Fatalf("redacted %q keeps password %q", red, pw)
			}
		}
	})
}
