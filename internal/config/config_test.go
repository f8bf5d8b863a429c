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
		{name: "loopback plain", yaml: "http: 127.0.0.1:8080\nrtsp: localhost:8554\ntls: {enable: false}"},
		{name: "remote listen gets TLS", yaml: "http: 0.0.0.0:8080\nrtsp: '[::]:8554'"},
		{name: "remote plain refused", yaml: "http: 0.0.0.0:8080\ntls: {enable: false}", wantErr: "not a loopback"},
		{name: "remote plain refused for rtsp", yaml: "rtsp: 10.0.0.1:8554\ntls: {enable: false}", wantErr: "rtsp:"},
		{name: "remote plain when insecure_http", yaml: "http: 0.0.0.0:8080\ntls: {enable: false}\ninsecure_http: true"},
		{name: "remote with cert", yaml: "http: 0.0.0.0:8080\ntls: {cert: /c.pem, key: /k.pem}"},
		{name: "cert without key", yaml: "tls: {cert: /c.pem}", wantErr: "both cert and key"},
		{name: "disabled with cert", yaml: "tls: {enable: false, cert: /c.pem, key: /k.pem}", wantErr: "enable is false"},
		{name: "env disables TLS", yaml: "http: 0.0.0.0:8080", env: map[string]string{"VIGIL_TLS": "false"}, wantErr: "not a loopback"},
		{name: "env insecure", yaml: "http: 0.0.0.0:8080", env: map[string]string{"VIGIL_TLS": "0", "VIGIL_INSECURE_HTTP": "1"}},
		{name: "bad env bool", env: map[string]string{"VIGIL_TLS": "maybe"}, wantErr: "environment"},
		{name: "deprecated allow_remote parses", yaml: "allow_remote: true"},
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

func TestListenerTLS(t *testing.T) {
	on, off := true, false
	cases := []struct {
		name    string
		cfg     Config
		addr    string
		wantTLS bool
	}{
		{"loopback default", Config{}, "127.0.0.1:8080", false},
		{"localhost default", Config{}, "localhost:8080", false},
		{"ipv6 loopback default", Config{}, "[::1]:8080", false},
		{"all interfaces", Config{}, "0.0.0.0:8080", true},
		{"empty host", Config{}, ":8080", true},
		{"lan address", Config{}, "192.168.1.10:8554", true},
		{"insecure on lan", Config{InsecureHTTP: true}, "192.168.1.10:8554", false},
		{"enabled on loopback", Config{TLS: TLS{Enable: &on}}, "127.0.0.1:8080", true},
		{"cert on loopback", Config{TLS: TLS{Cert: "c", Key: "k"}}, "127.0.0.1:8080", true},
		{"disabled on lan", Config{TLS: TLS{Enable: &off}}, "0.0.0.0:8080", false},
		{"cert wins over insecure", Config{InsecureHTTP: true, TLS: TLS{Cert: "c", Key: "k"}}, "0.0.0.0:1", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.cfg.ListenerTLS(c.addr); got != c.wantTLS {
				t.Fatalf("ListenerTLS(%q) = %v, want %v", c.addr, got, c.wantTLS)
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
	f.Add("http: 0.0.0.0:1\ntls: {enable: false, cert: c}\ninsecure_http: true")
	f.Add("record: {segment: 1s, fragment: 2s}")
	f.Add("gateway: {hub: 'https://h:1', backfill_rate: 8Mbit, spool_quota: 50GB, cameras: [{id: a, source: 'rtsp://h/x'}]}")
	f.Fuzz(func(t *testing.T, y string) {
		_ = parseAll(y, nil) // must not panic
	})
}
