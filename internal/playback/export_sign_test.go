package playback

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/exportsig"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/record/recordtest"
)

// signTime is the playback clock in the signing tests.
var signTime = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// withSigner replaces e's service and server with ones whose service signs
// exports with a new hub key (a real keys.Hub), on the same index, files
// and users, with the clock fixed at signTime.
func withSigner(t testing.TB, e *env) *keys.Hub {
	t.Helper()
	hub, svc, srv := signedServer(t, e)
	e.srv.Close()
	e.svc, e.srv = svc, srv
	return hub
}

// signedServer serves e's recordings and users through a service that
// signs with a new hub key.
func signedServer(t testing.TB, e *env) (*keys.Hub, *Service, *httptest.Server) {
	t.Helper()
	hub, err := keys.LoadOrCreate(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := auth.NewSQLStore(e.f.Index.DB())
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := New(Deps{Index: e.f.Index, Blobs: e.f.Blobs, Logger: log, Signer: hub,
		Now: func() time.Time { return signTime }})
	a, err := api.New(api.Config{}, api.Deps{Index: e.f.Index, Auth: as, Runtime: api.NopRuntime{},
		Logger: log, Routes: svc.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return hub, svc, srv
}

func TestExportSignedVerifies(t *testing.T) {
	e := twoSessions(t)
	unsigned := e.get(t, "op", e.exportPath(e.f.Sessions[0].Start, e.f.Sessions[1].End)).must(t, http.StatusOK)
	if v := unsigned.header.Get(HeaderSignature); v != "" {
		t.Fatalf("a service without a signer signed: %q", v)
	}
	hub := withSigner(t, e)
	s0, s1 := e.f.Sessions[0], e.f.Sessions[1]
	tests := []struct {
		name     string
		from, to time.Time
	}{
		{"everything, across the gap", s0.Start, s1.End},
		{"mid fragment", s0.Start.Add(3500 * time.Millisecond), s0.Start.Add(8500 * time.Millisecond)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			full := e.get(t, "op", e.exportPath(tc.from, tc.to)).must(t, http.StatusOK)
			sig := full.header.Get(HeaderSignature)
			if sig == "" {
				t.Fatal("no signature")
			}
			m, err := exportsig.Verify(hub.Public(), sig, bytes.NewReader(full.body))
			if err != nil {
				t.Fatalf("the export does not verify: %v", err)
			}
			want := exportsig.Manifest{V: 1, SHA256: m.SHA256, Size: int64(len(full.body)), Camera: e.f.Camera,
				From: headerTime(t, full.header.Get(HeaderExportStart)), To: headerTime(t, full.header.Get(HeaderExportEnd)),
				Exporter: "op", Reason: "incident 42", Time: signTime, Key: hub.Fingerprint()}
			if m != want {
				t.Fatalf("manifest\n got %+v\nwant %+v", m, want)
			}
			if tc.from.Equal(s0.Start) && tc.to.Equal(s1.End) && !bytes.Equal(unsigned.body, full.body) {
				t.Fatal("signing changed the exported bytes")
			}
			// One changed byte anywhere fails.
			for _, i := range []int{0, len(full.body) / 2, len(full.body) - 1} {
				bad := bytes.Clone(full.body)
				bad[i] ^= 0x80
				if _, err := exportsig.Verify(hub.Public(), sig, bytes.NewReader(bad)); !errors.Is(err, exportsig.ErrFileChanged) {
					t.Fatalf("byte %d changed: error %v, want ErrFileChanged", i, err)
				}
			}

			// A Range answer carries the whole file's signature.
			hi := min(int64(len(full.body))-1, 70_000)
			part := e.get(t, "op", e.exportPath(tc.from, tc.to), "Range", "bytes=1000-"+strconv.FormatInt(hi, 10)).
				must(t, http.StatusPartialContent)
			if !bytes.Equal(part.body, full.body[1000:hi+1]) {
				t.Fatal("range answer differs from the full file")
			}
			if got := part.header.Get(HeaderSignature); got != sig {
				t.Fatalf("range answer signature differs:\n%s\n%s", got, sig)
			}
			if cl := part.header.Get("Content-Length"); cl != strconv.FormatInt(hi-999, 10) {
				t.Fatalf("range Content-Length %s", cl)
			}
		})
	}
	// Another user and reason give another manifest over the same hash.
	r := e.get(t, "root", "/api/v1/cameras/"+e.f.Camera+"/export"+rangeQuery(s0.Start, s1.End, "reason", "court order 7")).
		must(t, http.StatusOK)
	m, err := exportsig.Verify(hub.Public(), r.header.Get(HeaderSignature), bytes.NewReader(r.body))
	if err != nil || m.Exporter != "root" || m.Reason != "court order 7" {
		t.Fatalf("manifest %+v: %v", m, err)
	}
}

func headerTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v.UTC()
}

// TestExportSignedDamagedFile: a stored file that cannot be read whole
// fails the export before anything is sent (a clean JSON 500), not in the
// middle of the body.
func TestExportSignedDamagedFile(t *testing.T) {
	e := twoSessions(t)
	withSigner(t, e)
	s0 := e.f.Sessions[0]
	segs, err := e.f.Index.Segments(t.Context(), e.f.Camera, s0.Start, s0.End)
	if err != nil || len(segs) < 2 {
		t.Fatalf("%d segments: %v", len(segs), err)
	}
	// Cut the second segment short after its first fragment.
	seg := segs[1]
	path := filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(seg.Path))
	if err := os.Truncate(path, seg.Fragments[1].Offset+10); err != nil {
		t.Fatal(err)
	}
	r := e.get(t, "op", e.exportPath(s0.Start, s0.End)).must(t, http.StatusInternalServerError)
	if msg := r.errorMessage(t); msg != "internal error" {
		t.Fatalf("error %q", msg)
	}
	for _, name := range []string{HeaderSignature, "Content-Disposition", "ETag", HeaderExportStart} {
		if v := r.header.Get(name); v != "" {
			t.Fatalf("a failed export carries %s: %q", name, v)
		}
	}
	if !bytes.Contains([]byte(e.logs.String()), []byte("export: hash")) {
		t.Fatalf("the failure is not logged:\n%s", e.logs.String())
	}
}

// TestExportSignedRangeUsesCachedHash: once an export's hash is known,
// a Range request of the same file is answered without reading the whole
// file again (here: a later part of it became unreadable, and the first
// kilobyte is still served, with the same signature).
func TestExportSignedRangeUsesCachedHash(t *testing.T) {
	e := twoSessions(t)
	withSigner(t, e)
	s0 := e.f.Sessions[0]
	full := e.get(t, "op", e.exportPath(s0.Start, s0.End)).must(t, http.StatusOK)
	segs, err := e.f.Index.Segments(t.Context(), e.f.Camera, s0.Start, s0.End)
	if err != nil || len(segs) < 2 {
		t.Fatalf("%d segments: %v", len(segs), err)
	}
	last := segs[len(segs)-1]
	if err := os.Truncate(filepath.Join(e.f.Dir, "recordings", filepath.FromSlash(last.Path)), last.InitSize+10); err != nil {
		t.Fatal(err)
	}
	part := e.get(t, "op", e.exportPath(s0.Start, s0.End), "Range", "bytes=0-999").must(t, http.StatusPartialContent)
	if got, want := part.header.Get(HeaderSignature), full.header.Get(HeaderSignature); got != want || want == "" {
		t.Fatalf("range signature %q, want %q", got, want)
	}
	if !bytes.Equal(part.body, full.body[:1000]) {
		t.Fatal("range answer differs from the full file")
	}
	// With the cache emptied the damaged file is found before answering.
	e.svc.sums = sumCache{}
	e.get(t, "op", e.exportPath(s0.Start, s0.End), "Range", "bytes=0-999").must(t, http.StatusInternalServerError)
}

func TestSumCacheBounded(t *testing.T) {
	var c sumCache
	for i := range maxSums + 10 {
		c.put(strconv.Itoa(i), "sum"+strconv.Itoa(i))
	}
	if len(c.sums) != maxSums || len(c.order) != maxSums {
		t.Fatalf("%d sums, %d in order, want %d", len(c.sums), len(c.order), maxSums)
	}
	if _, ok := c.get("0"); ok {
		t.Fatal("the oldest entry is still there")
	}
	if s, ok := c.get(strconv.Itoa(maxSums + 9)); !ok || s != "sum"+strconv.Itoa(maxSums+9) {
		t.Fatalf("newest entry: %q %v", s, ok)
	}
}

// BenchmarkExportSigned measures what signing adds to a one-hour export
// (60 one-minute segments, about 139 MB) over HTTP, in the same process
// and conditions: "unsigned" (as BenchmarkExport), "signed-first" (the
// file is hashed before every answer: the first request of an export),
// "signed-repeat" (the hash is cached: a player's later Range requests).
// Besides MB/s it reports the time to the response headers and the CPU
// time of the whole process per export, which is steadier than wall time
// on a shared machine.
func BenchmarkExportSigned(b *testing.B) {
	e := newEnv(b, recordtest.Options{Sessions: []time.Duration{time.Hour},
		Record: record.Config{SegmentDuration: time.Minute}})
	_, svc, signed := signedServer(b, e)
	s := e.f.Sessions[0]
	c := e.sessionClient(b)
	path := e.exportPath(s.Start, s.End)
	for _, bc := range []struct {
		name   string
		srv    *httptest.Server
		forget bool // drop cached hashes before each export
	}{
		{"unsigned", e.srv, false},
		{"signed-first", signed, true},
		{"signed-repeat", signed, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var size int64
			var ttfb time.Duration
			cpu0 := cpuTime(b)
			for b.Loop() {
				if bc.forget {
					svc.sums = sumCache{}
				}
				t0 := time.Now()
				res, err := c.Get(bc.srv.URL + path)
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("export: %v %v", res, err)
				}
				ttfb += time.Since(t0)
				n, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				size = n
			}
			b.SetBytes(size)
			b.ReportMetric(float64(ttfb.Microseconds())/1000/float64(b.N), "headers-ms/op")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the user + system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
