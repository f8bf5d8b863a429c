package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/index/indextest"
	"github.com/vigil-video/vigil/internal/secrets"
)

func testBox(t testing.TB, b byte) *secrets.Box {
	t.Helper()
	box, err := secrets.New(bytes.Repeat([]byte{b}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func TestConformanceWithSecrets(t *testing.T) {
	box := testBox(t, 1)
	indextest.Run(t, func(t *testing.T) index.Index {
		s, err := Open(t.Context(), filepath.Join(t.TempDir(), "index.db"), WithSecrets(box))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// rawCameras returns every column of every camera row, as plain SQL sees
// them, joined in one string.
func rawCameras(t *testing.T, s *Store) string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), `SELECT id, name, source, source_secret, transport, analytics FROM cameras`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var a, c, d, e, f, g string
		if err := rows.Scan(&a, &c, &d, &e, &f, &g); err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join([]string{a, c, d, e, f, g}, "|") + "\n")
	}
	return b.String()
}

const secretSource = "rtsp://admin:hunter2%40x@10.0.0.5:554/Streaming/101?channel=1"

func TestCameraCredentialsSealed(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "index.db"), WithSecrets(testBox(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cams := []index.Camera{
		{ID: "a", Name: "A", Source: secretSource, Transport: "tcp"},
		{ID: "b", Name: "B", Source: "rtsp://10.0.0.6/live", Transport: "tcp"},
		{ID: "c", Name: "C", Source: "", Transport: "tcp"},
		{ID: "d", Name: "D", Source: "rtsps://onlyuser@cam.example/x@y", Transport: "tcp"},
	}
	for _, c := range cams {
		if _, err := s.CreateCamera(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, want map[string]string) {
		t.Helper()
		raw := rawCameras(t, s)
		for _, leak := range []string{"hunter2", "admin", "onlyuser"} {
			if strings.Contains(raw, leak) {
				t.Fatalf("%s: the cameras table holds %q:\n%s", when, leak, raw)
			}
		}
		list, err := s.ListCameras(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			got, err := s.GetCamera(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != want[c.ID] || c.Source != want[c.ID] {
				t.Errorf("%s: camera %s source %q / %q, want %q", when, c.ID, got.Source, c.Source, want[c.ID])
			}
		}
	}
	want := map[string]string{"a": secretSource, "b": "rtsp://10.0.0.6/live", "c": "", "d": "rtsps://onlyuser@cam.example/x@y"}
	check("after create", want)
	cams[1].Source = "rtsp://newuser:n3w@10.0.0.6/live"
	updated, err := s.UpdateCamera(ctx, cams[1])
	if err != nil || updated.Source != cams[1].Source {
		t.Fatalf("update: %q, %v", updated.Source, err)
	}
	want["b"] = cams[1].Source
	check("after update", map[string]string{"a": secretSource, "b": cams[1].Source, "c": "", "d": want["d"]})
	if raw := rawCameras(t, s); strings.Contains(raw, "n3w") || strings.Contains(raw, "newuser") {
		t.Fatalf("updated password in clear:\n%s", raw)
	}
}

func TestPlaintextCredentialsSealedAtOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "index.db")
	s, err := Open(ctx, path) // an index written without a key
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCamera(ctx, index.Camera{ID: "a", Name: "A", Source: secretSource}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rawCameras(t, s), "hunter2") {
		t.Fatal("fixture: without a key the password should be stored as given")
	}
	s.Close()
	var sealed string
	for i := range 2 { // the second open finds nothing left to seal
		s, err := Open(ctx, path, WithSecrets(testBox(t, 1)))
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		raw := rawCameras(t, s)
		if strings.Contains(raw, "hunter2") {
			t.Fatalf("open %d: password left in clear:\n%s", i, raw)
		}
		if i == 1 && raw != sealed {
			t.Fatalf("second open changed the row:\n%s\nwas\n%s", raw, sealed)
		}
		sealed = raw
		if c, err := s.GetCamera(ctx, "a"); err != nil || c.Source != secretSource {
			t.Fatalf("open %d: source %q, %v", i, c.Source, err)
		}
		s.Close()
	}
}

func TestWrongOrMissingKey(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "index.db")
	s, err := Open(ctx, path, WithSecrets(testBox(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCamera(ctx, index.Camera{ID: "a", Name: "A", Source: secretSource}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	_, err = Open(ctx, path, WithSecrets(testBox(t, 2)))
	if !errors.Is(err, secrets.ErrOpen) || !strings.Contains(err.Error(), "camera a") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("open with the wrong key: %v", err)
	}
	s, err = Open(ctx, path) // no key: opens, but the camera cannot be read
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.GetCamera(ctx, "a"); !errors.Is(err, ErrNoSecretsKey) {
		t.Fatalf("get without key: %v", err)
	}
	if _, err := s.ListCameras(ctx); !errors.Is(err, ErrNoSecretsKey) {
		t.Fatalf("list without key: %v", err)
	}
	// the right key still opens everything
	s2, err := Open(context.Background(), path, WithSecrets(testBox(t, 1)))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if c, err := s2.GetCamera(ctx, "a"); err != nil || c.Source != secretSource {
		t.Fatalf("right key: %q, %v", c.Source, err)
	}
}

var userinfoCases = []struct{ in, bare, ui string }{
	{"rtsp://u:p@h:554/x", "rtsp://h:554/x", "u:p"},
	{"rtsp://h/x", "rtsp://h/x", ""},
	{"rtsp://u@h", "rtsp://h", "u"},
	{"rtsp://u:p@h/a@b?c@d#e@f", "rtsp://h/a@b?c@d#e@f", "u:p"},
	{"rtsp://u:p@x@h/", "rtsp://h/", "u:p@x"},
	{"rtsp://h?q=a@b", "rtsp://h?q=a@b", ""},
	{"", "", ""},
	{"no-scheme@h", "no-scheme@h", ""},
	{"rtsp://@h/", "rtsp://h/", ""},
}

func TestSplitUserinfo(t *testing.T) {
	for _, c := range userinfoCases {
		bare, ui := splitUserinfo(c.in)
		if bare != c.bare || ui != c.ui {
			t.Errorf("split(%q) = %q, %q; want %q, %q", c.in, bare, ui, c.bare, c.ui)
		}
		if ui != "" && joinUserinfo(bare, ui) != c.in {
			t.Errorf("join(split(%q)) = %q", c.in, joinUserinfo(bare, ui))
		}
	}
}

func FuzzSplitUserinfo(f *testing.F) {
	for _, c := range userinfoCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		bare, ui := splitUserinfo(in)
		if ui != "" && joinUserinfo(bare, ui) != in {
			t.Fatalf("join(split(%q)) = %q", in, joinUserinfo(bare, ui))
		}
		if _, ui2 := splitUserinfo(bare); ui2 != "" {
			t.Fatalf("bare %q of %q still has userinfo %q", bare, in, ui2)
		}
	})
}
