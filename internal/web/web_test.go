package web

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w
}

// The page and every asset are served with their content type.
func TestServesAssets(t *testing.T) {
	cases := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", "<title>Vigil</title>"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import"},
		{"/ui/api.js", "text/javascript; charset=utf-8", "export async function request"},
		{"/ui/player.js", "text/javascript; charset=utf-8", "lowLatencyMode"},
		{"/ui/timeline.js", "text/javascript; charset=utf-8", "recordings"},
		{"/ui/style.css", "text/css; charset=utf-8", ":root"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
		{"/ui/vendor/hls.min.js", "text/javascript; charset=utf-8", "Hls"},
		{"/ui/vendor/LICENSE", "text/plain; charset=utf-8", "Copyright"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			w := serve(t, "GET", tc.path, nil)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("ETag") == "" {
				t.Errorf("headers %v", w.Header())
			}
			head := serve(t, "HEAD", tc.path, nil)
			if head.Code != http.StatusOK || head.Body.Len() != 0 {
				t.Errorf("HEAD: status %d, %d bytes", head.Code, head.Body.Len())
			}
			again := serve(t, "GET", tc.path, map[string]string{"If-None-Match": w.Header().Get("ETag")})
			if again.Code != http.StatusNotModified {
				t.Errorf("revalidation: status %d, want 304", again.Code)
			}
		})
	}
}

// The page may load nothing from outside the hub.
func TestPageSecurityHeaders(t *testing.T) {
	w := serve(t, "GET", "/", nil)
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q allows inline code or other hosts", csp)
	}
}

// Unknown paths, directories and other methods are JSON errors.
func TestNotFound(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", "/nope", http.StatusNotFound},
		{"GET", "/index.html", http.StatusNotFound},
		{"GET", "/ui/", http.StatusNotFound},
		{"GET", "/ui", http.StatusNotFound},
		{"GET", "/ui/vendor/", http.StatusNotFound},
		{"GET", "/ui/index.html", http.StatusNotFound},
		{"GET", "/ui/../web.go", http.StatusNotFound},
		{"GET", "/ui/app.js/", http.StatusNotFound},
		{"GET", "/assets/app.js", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"DELETE", "/ui/app.js", http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := serve(t, tc.method, tc.path, nil)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			var body struct{ Error, Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" || body.Code == "" {
				t.Errorf("body %q: %v", w.Body.String(), err)
			}
		})
	}
}

// The embedded hls.js is the vendored release: its sha256 is the one
// scripts/vendor-hlsjs.sh recorded.
func TestVendoredHLSJS(t *testing.T) {
	version, err := assets.ReadFile("assets/vendor/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(version)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), " ")
		fields[k] = v
	}
	if fields["hls.js"] != "1.7.4" {
		t.Errorf("VERSION names hls.js %q, want the pinned 1.7.4", fields["hls.js"])
	}
	js, err := assets.ReadFile("assets/vendor/hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if got := hex.EncodeToString(sum[:]); got != fields["sha256"] {
		t.Errorf("hls.min.js sha256 %s, VERSION records %s", got, fields["sha256"])
	}
	if !strings.Contains(string(js), `"1.7.4"`) {
		t.Errorf("hls.min.js does not carry version 1.7.4")
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)
	importRef = regexp.MustCompile(`(?m)^import .* from '([^']+)';`)
)

// Everything the page and its modules reference is served, and nothing
// is fetched from another host.
func TestReferencesResolve(t *testing.T) {
	page := serve(t, "GET", "/", nil).Body.String()
	refs := htmlRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("only %d references in index.html", len(refs))
	}
	for _, m := range refs {
		if !strings.HasPrefix(m[1], "/ui/") {
			t.Errorf("index.html references %q outside /ui/", m[1])
			continue
		}
		if w := serve(t, "GET", m[1], nil); w.Code != http.StatusOK {
			t.Errorf("index.html references %s: status %d", m[1], w.Code)
		}
	}
	entries, err := assets.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		src, _ := assets.ReadFile("assets/" + e.Name())
		if strings.Contains(string(src), "http://") || strings.Contains(string(src), "https://") {
			t.Errorf("%s names an absolute URL", e.Name())
		}
		for _, m := range importRef.FindAllStringSubmatch(string(src), -1) {
			p := "/ui/" + strings.TrimPrefix(m[1], "./")
			if w := serve(t, "GET", p, nil); w.Code != http.StatusOK {
				t.Errorf("%s imports %s: status %d", e.Name(), m[1], w.Code)
			}
		}
	}
}
