package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(); err != nil {
		t.Fatal(err)
	}
	if c.Data != "./vigil-data" || c.HTTP != "127.0.0.1:8080" || c.RTSP != "127.0.0.1:8554" ||
		c.Record.Segment.D() != time.Minute || c.Record.Fragment.D() != time.Second || c.Retention.Days != 30 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        map[string]string
		wantErr    string
	}{
		{name: "full", yaml: `
data: /tmp/x
http: 127.0.0.1:0
rtsp: 127.0.0.1:0
record: {segment: 30s, fragment: 500ms}
retention: {days: 7, max_bytes: 1000000}
sites: [{id: north-7, name: North, region: north}]
cameras:
  - {id: gate-1, site: north-7, source: "rtsp://u:p@10.0.0.5:554/s", transport: tcp}
  - {id: push-1}
`},
		{name: "unknown key", yaml: "bogus: 1", wantErr: "field bogus"},
		{name: "remote listen refused", yaml: "http: 0.0.0.0:8080", wantErr: "not a loopback"},
		{name: "remote listen allowed", yaml: "http: 0.0.0.0:8080\nallow_remote: true"},
		{name: "bad duration", yaml: "record: {segment: soon}", wantErr: "invalid duration"},
		{name: "bad camera", yaml: "cameras: [{id: ../x, source: http://x}]", wantErr: "invalid or duplicate id"},
		{name: "unknown site", yaml: "cameras: [{id: a, site: nowhere}]", wantErr: "unknown site"},
		{name: "source never echoed", yaml: "cameras: [{id: a, source: 'ftp://user:hunter2@h/'}]", wantErr: "rtsp://"},
		{name: "watermarks", yaml: "retention: {high_watermark: 0.5, low_watermark: 0.6}", wantErr: "low_watermark"},
		{name: "env override", yaml: "http: 0.0.0.0:1", env: map[string]string{"VIGIL_HTTP": "127.0.0.1:9"}},
		{name: "bad env", env: map[string]string{"VIGIL_RETENTION_DAYS": "many"}, wantErr: "environment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parseAll(tc.yaml, tc.env)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatal("error leaks a password")
			}
		})
	}
}

func parseAll(y string, env map[string]string) error {
	c, err := Parse([]byte(y))
	if err != nil {
		return err
	}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		return err
	}
	return c.Finish()
}

func FuzzParse(f *testing.F) {
	f.Add("data: x\nhttp: 127.0.0.1:1")
	f.Add("cameras: [{id: a, source: rtsp://h/x}]")
	f.Add("record: {segment: 1s, fragment: 2s}")
	f.Fuzz(func(t *testing.T, y string) {
		_ = parseAll(y, nil) // must not panic
	})
}
