package app

import (
	"os"
	"path/filepath"
	"testing"
)

func TestGatewayFlagsOverFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gw.yaml")
	yaml := `
gateway:
  hub: https://file.example:8443
  data_dir: /from/file
  backfill_rate: 2Mbit
  spool_quota: 1GB
  cameras: [{id: door, source: "rtsp://u:p@10.0.0.9/s", transport: tcp}]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f := gatewayFlags{configPath: path, hub: "https://flag.example", rate: "500k", quota: "2GiB", rtsp: "rtsps://flag.example:8322"}
	cfg, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	gc := gatewayConfig(cfg)
	if gc.Hub != "https://flag.example" || gc.DataDir != "/from/file" || gc.BackfillRate != 500_000 ||
		gc.SpoolQuota != 2<<30 || gc.RTSP != "rtsps://flag.example:8322" || gc.Record.FragmentDuration.Seconds() != 1 {
		t.Fatalf("gateway config %+v", gc)
	}
	if len(gc.Cameras) != 1 || gc.Cameras[0].ID != "door" || !gc.Cameras[0].Record || gc.Cameras[0].Transport != "tcp" {
		t.Fatalf("cameras %+v", gc.Cameras)
	}
	for _, bad := range []gatewayFlags{{quota: "lots"}, {rate: "-1"}, {rtsp: "http://x"}} {
		if _, err := bad.load(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
