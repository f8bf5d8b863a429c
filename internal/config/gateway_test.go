package config

import (
	"strings"
	"testing"
)

func TestParseBitRate(t *testing.T) {
	cases := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"8Mbit", 8_000_000, false}, {"8M", 8_000_000, false}, {"500k", 500_000, false}, {"500kbit", 500_000, false},
		{"2.5Mbps", 2_500_000, false}, {"1G", 1_000_000_000, false}, {"1000", 1000, false}, {"0", 0, false},
		{"8 Mbit/s", 8_000_000, false},
		{"", 0, true}, {"fast", 0, true}, {"8X", 0, true}, {"-1M", 0, true}, {"1e99G", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseBitRate(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && got.BitsPerSecond != tc.want) {
			t.Errorf("ParseBitRate(%q) = %d, %v; want %d, err %v", tc.in, got.BitsPerSecond, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	cases := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"50GB", 50_000_000_000, false}, {"500MB", 500_000_000, false}, {"2GiB", 2 << 30, false},
		{"10G", 10_000_000_000, false}, {"64mib", 64 << 20, false}, {"1024", 1024, false}, {"1 TB", 1_000_000_000_000, false},
		{"", 0, true}, {"big", 0, true}, {"5XB", 0, true}, {"-5GB", 0, true},
	}
	for _, tc := range cases {
		got, err := ParseByteSize(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && int64(got) != tc.want) {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestGatewaySection(t *testing.T) {
	cases := []struct {
		name, yaml string
		env        map[string]string
		wantErr    string
		check      func(t *testing.T, g Gateway)
	}{
		{name: "defaults", check: func(t *testing.T, g Gateway) {
			if g.DataDir != DefaultGatewayDataDir || g.BackfillRate.BitsPerSecond != DefaultBackfillRate || g.SpoolQuota != DefaultSpoolQuota {
				t.Fatalf("defaults: %+v", g)
			}
		}},
		{name: "full", yaml: `
gateway:
  hub: https://hub.example:8443
  token: vge_x
  data_dir: /var/lib/vigil-gw
  backfill_rate: 4Mbit
  spool_quota: 200GB
  rtsp: rtsps://hub.example:8322
  cameras:
    - {id: door-1, source: "rtsp://u:hunter2@10.0.0.9/s", transport: tcp}
    - {id: yard, source: "rtsp://10.0.0.10/s", record: false}
`, check: func(t *testing.T, g Gateway) {
			if g.BackfillRate.BitsPerSecond != 4_000_000 || g.SpoolQuota != 200_000_000_000 || len(g.Cameras) != 2 ||
				!*g.Cameras[0].Record || *g.Cameras[1].Record {
				t.Fatalf("parsed: %+v", g)
			}
		}},
		{name: "no cap", yaml: "gateway: {backfill_rate: 0}", check: func(t *testing.T, g Gateway) {
			if g.BackfillRate.BitsPerSecond != 0 {
				t.Fatalf("rate %v, want 0 (no cap)", g.BackfillRate)
			}
		}},
		{name: "env", env: map[string]string{"VIGIL_GATEWAY_HUB": "https://h", "VIGIL_GATEWAY_TOKEN": "vge_t"},
			check: func(t *testing.T, g Gateway) {
				if g.Hub != "https://h" || g.Token != "vge_t" {
					t.Fatalf("env: %+v", g)
				}
			}},
		{name: "loopback http hub", yaml: "gateway: {hub: 'http://127.0.0.1:8080'}"},
		{name: "remote http hub", yaml: "gateway: {hub: 'http://hub.example'}", wantErr: "loopback"},
		{name: "hub with path", yaml: "gateway: {hub: 'https://hub.example/x'}", wantErr: "gateway: hub"},
		{name: "bad rate", yaml: "gateway: {backfill_rate: lots}", wantErr: "bit rate"},
		{name: "bad quota", yaml: "gateway: {spool_quota: 5XB}", wantErr: "size"},
		{name: "tiny quota", yaml: "gateway: {spool_quota: 1MB}", wantErr: "too small"},
		{name: "bad rtsp", yaml: "gateway: {rtsp: 'http://x'}", wantErr: "gateway: rtsp"},
		{name: "rtsp with credentials", yaml: "gateway: {rtsp: 'rtsps://u:p@x:1'}", wantErr: "without credentials"},
		{name: "camera without source", yaml: "gateway: {cameras: [{id: a}]}", wantErr: "source is required"},
		{name: "bad camera", yaml: "gateway: {cameras: [{id: A/B, source: 'ftp://u:hunter2@x'}]}", wantErr: "invalid or duplicate id"},
		{name: "duplicate camera", yaml: "gateway: {cameras: [{id: a, source: 'rtsp://x'}, {id: a, source: 'rtsp://y'}]}", wantErr: "duplicate"},
		{name: "bad transport", yaml: "gateway: {cameras: [{id: a, source: 'rtsp://x', transport: quic}]}", wantErr: "transport"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml))
			if err == nil {
				err = c.ApplyEnv(func(k string) string { return tc.env[k] })
			}
			if err == nil {
				err = c.Finish()
			}
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatal("error leaks a password")
			}
			if err == nil && tc.check != nil {
				tc.check(t, c.Gateway)
			}
		})
	}
}

func FuzzParseSizes(f *testing.F) {
	for _, s := range []string{"8Mbit", "500k", "2.5Mbps", "0", "50GB", "2GiB", "1 TB", "", "1e99G", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseBitRate(s); err == nil && r.BitsPerSecond < 0 {
			t.Fatalf("negative rate %d from %q", r.BitsPerSecond, s)
		}
		if b, err := ParseByteSize(s); err == nil && b < 0 {
			t.Fatalf("negative size %d from %q", b, s)
		}
	})
}
