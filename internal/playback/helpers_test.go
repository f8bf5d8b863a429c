package playback

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record/recordtest"
	"github.com/vigil-video/vigil/internal/testutil"
)

// Test users and their passwords (roles in newEnv).
var testUsers = map[string]string{
	"root": "root-password-1", // admin
	"op":   "op-password-1",   // operator, site-1
	"op2":  "op2-password-1",  // operator, site-1
	"far":  "far-password-1",  // operator, site-2 only
	"view": "view-password-1", // viewer (no playback)
}

// env is the playback service mounted on a real API over a recorded
// fixture, served on 127.0.0.1.
type env struct {
	f    *recordtest.Fixture
	svc  *Service
	srv  *httptest.Server
	logs *testutil.LogBuffer
}

func newEnv(t testing.TB, opts recordtest.Options) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{f: recordtest.Record(t, opts), logs: &testutil.LogBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, err := auth.NewSQLStore(e.f.Index.DB())
	if err != nil {
		t.Fatal(err)
	}
	as, err := auth.New(auth.Config{Hash: auth.Argon2Params{Memory: 64, Time: 1, Threads: 1}}, auth.Deps{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Index.CreateSite(ctx, index.Site{ID: "site-2", Name: "Site 2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Index.CreateCamera(ctx, index.Camera{ID: "cam-far", Name: "far", Site: "site-2"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.NewUser{
		{Username: "root", Role: auth.RoleAdmin},
		{Username: "op", Role: auth.RoleOperator, Sites: []string{e.f.Site}},
		{Username: "op2", Role: auth.RoleOperator, Sites: []string{e.f.Site}},
		{Username: "far", Role: auth.RoleOperator, Sites: []string{"site-2"}},
		{Username: "view", Role: auth.RoleViewer},
	} {
		u.Password = testUsers[u.Username]
		if _, err := as.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	e.svc = New(Deps{Index: e.f.Index, Blobs: e.f.Blobs, Logger: log})
	a, err := api.New(api.Config{}, api.Deps{Index: e.f.Index, Auth: as, Runtime: api.NopRuntime{},
		Logger: log, Routes: e.svc.Routes()})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// basicAuth is the Authorization header value of a test user.
func basicAuth(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+testUsers[user]))
}

// resp is a read answer.
type resp struct {
	code   int
	header http.Header
	body   []byte
}

// get sends GET path as user with extra headers (name, value pairs).
func (e *env) get(t testing.TB, user, path string, hdr ...string) resp {
	t.Helper()
	ctx := testutil.Context(t, 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", basicAuth(user))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp{code: res.StatusCode, header: res.Header, body: body}
}

func (r resp) must(t testing.TB, code int) resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %.300s", r.code, code, r.body)
	}
	return r
}

// errorMessage decodes a JSON error body.
func (r resp) errorMessage(t testing.TB) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error answer of type %q: %.200s", ct, r.body)
	}
	var eb struct{ Error, Code string }
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error == "" || eb.Code == "" {
		t.Fatalf("bad error body %q: %v", r.body, err)
	}
	return eb.Error
}

// rangeQuery is "?from=...&to=..." (plus extra pairs).
func rangeQuery(from, to time.Time, extra ...string) string {
	q := url.Values{}
	q.Set("from", from.UTC().Format(time.RFC3339Nano))
	q.Set("to", to.UTC().Format(time.RFC3339Nano))
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "?" + q.Encode()
}

func (e *env) playlistPath(from, to time.Time) string {
	return "/api/v1/cameras/" + e.f.Camera + "/playback.m3u8" + rangeQuery(from, to)
}

func (e *env) exportPath(from, to time.Time) string {
	return "/api/v1/cameras/" + e.f.Camera + "/export" + rangeQuery(from, to, "reason", "incident 42")
}

// framesIn counts the recorded video frames whose time is in [from, to).
func framesIn(f *recordtest.Fixture, from, to time.Time) int {
	dur := time.Duration(float64(time.Second) / f.FPS)
	n := 0
	for i, s := range f.Sessions {
		for k := 0; k < f.Frames[i]; k++ {
			at := s.Start.Add(time.Duration(k) * dur)
			if !at.Before(from) && at.Before(to) {
				n++
			}
		}
	}
	return n
}

// hlsEntry is one media segment of a parsed playlist.
type hlsEntry struct {
	uri           string
	dur           float64
	length, off   int64
	mapURI        string
	mapRange      string
	date          time.Time // program date time, when one precedes it
	discontinuity bool
}

// parsePlaylist reads the media segments of an HLS playlist, failing on
// tags it does not expect.
func parsePlaylist(t testing.TB, body []byte) (tags map[string]string, entries []hlsEntry) {
	t.Helper()
	tags = map[string]string{}
	var cur hlsEntry
	var mapURI, mapRange string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		name, val, _ := strings.Cut(line, ":")
		switch {
		case name == "#EXT-X-MAP":
			mapURI, mapRange = attr(t, val, "URI"), attr(t, val, "BYTERANGE")
		case name == "#EXT-X-PROGRAM-DATE-TIME":
			d, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				t.Fatalf("program date time %q: %v", val, err)
			}
			cur.date = d
		case name == "#EXT-X-DISCONTINUITY":
			cur.discontinuity = true
		case name == "#EXTINF":
			d, err := strconv.ParseFloat(strings.TrimSuffix(val, ","), 64)
			if err != nil {
				t.Fatalf("EXTINF %q: %v", val, err)
			}
			cur.dur = d
		case name == "#EXT-X-BYTERANGE":
			l, o, _ := strings.Cut(val, "@")
			cur.length, _ = strconv.ParseInt(l, 10, 64)
			cur.off, _ = strconv.ParseInt(o, 10, 64)
		case strings.HasPrefix(line, "#"):
			tags[name] = val
		case line != "":
			cur.uri, cur.mapURI, cur.mapRange = line, mapURI, mapRange
			entries = append(entries, cur)
			cur = hlsEntry{}
		}
	}
	return tags, entries
}

// attr reads a quoted attribute of an HLS tag.
func attr(t testing.TB, list, name string) string {
	t.Helper()
	i := strings.Index(list, name+`="`)
	if i < 0 {
		t.Fatalf("no %s in %q", name, list)
	}
	v := list[i+len(name)+2:]
	return v[:strings.IndexByte(v, '"')]
}

// ffmpegHTTP runs ffmpeg or ffprobe (tool) on an authenticated URL with
// args before and after the input, and returns stdout and stderr.
func ffmpegHTTP(t testing.TB, tool, user, u string, pre, post []string) (stdout, stderr string, err error) {
	t.Helper()
	bin := testutil.RequireTool(t, tool)
	ctx := testutil.Context(t, 90*time.Second)
	args := append([]string{"-v", "error", "-headers", "Authorization: " + basicAuth(user) + "\r\n"}, pre...)
	if tool == "ffmpeg" {
		args = append([]string{"-nostdin"}, args...)
	}
	args = append(args, "-i", u)
	args = append(args, post...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, serr strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &serr
	err = cmd.Run()
	return out.String(), serr.String(), err
}

// probeFrames counts the decoded video frames ffprobe finds at u and
// returns their presentation times (seconds).
func probeFrames(t testing.TB, user, u string) []float64 {
	t.Helper()
	out, serr, err := ffmpegHTTP(t, "ffprobe", user, u, nil,
		[]string{"-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time", "-of", "csv=p=0"})
	if err != nil || serr != "" {
		t.Fatalf("ffprobe %s: %v: %s", u, err, serr)
	}
	var times []float64
	for _, l := range strings.Fields(out) {
		v, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err != nil {
			t.Fatalf("ffprobe frame time %q: %v", l, err)
		}
		times = append(times, v)
	}
	return times
}

// decodeErrors decodes u fully with ffmpeg and returns what it printed.
func decodeErrors(t testing.TB, user, u string) string {
	t.Helper()
	_, serr, err := ffmpegHTTP(t, "ffmpeg", user, u, nil, []string{"-f", "null", "-"})
	if err != nil {
		return fmt.Sprintf("%v: %s", err, serr)
	}
	return serr
}
