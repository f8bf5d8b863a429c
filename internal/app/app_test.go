package app

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Flags beat environment variables, which beat the config file.
func TestHubFlagsPrecedence(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "vigil.yaml")
	os.WriteFile(cfgPath, []byte("data: /from/file\nhttp: 127.0.0.1:1111\nrtsp: 127.0.0.1:2222\n"), 0o600)
	t.Setenv("VIGIL_HTTP", "127.0.0.1:3333")
	t.Setenv("VIGIL_RTSP", "127.0.0.1:4444")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var hf hubFlags
	hf.register(fs)
	if err := fs.Parse([]string{"--config", cfgPath, "--rtsp", "127.0.0.1:5555", "--camera", "rtsp://u:p@cam/1"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := hf.load()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/from/file" || cfg.HTTP != "127.0.0.1:3333" || cfg.RTSP != "127.0.0.1:5555" {
		t.Fatalf("data %s http %s rtsp %s", cfg.Data, cfg.HTTP, cfg.RTSP)
	}
	if len(cfg.Cameras) != 1 || cfg.Cameras[0].ID != "camera-1" || !*cfg.Cameras[0].Record {
		t.Fatalf("cameras %+v", cfg.Cameras)
	}
}

func TestMainUsageAndErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"help"}, 0, "vigil demo"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"gateway", "--data", "/nonexistent/vigil-gw"}, 1, "not enrolled yet"},
		{[]string{"gateway", "--backfill-rate", "fast"}, 1, "--backfill-rate"},
		{[]string{"gateway", "--hub", "http://192.0.2.1"}, 1, "loopback"},
		{[]string{"serve", "--http", "0.0.0.0:1", "--tls=false"}, 1, "not a loopback address"},
		{[]string{"serve", "--tls-cert", "/c.pem"}, 1, "both cert and key"},
		{[]string{"user", "add"}, 1, "usage: vigil user add"},
	}
	for _, tc := range cases {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%v: code %d, output %q", tc.args, code, out.String()+errb.String())
		}
	}
}

func TestUserAdd(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"user", "add", "ann", "--role", "viewer", "--sites", "north-7", "--data", data}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "created user ann (role viewer)") || !strings.Contains(out.String(), "password: ") {
		t.Fatalf("code %d: %s %s", code, out.String(), errb.String())
	}
	code = Main(context.Background(), []string{"user", "add", "ann", "--data", data}, &out, &errb)
	if code == 0 {
		t.Fatal("adding the same user twice succeeded")
	}
}
