package gateway

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/uplink"
)

// fakeHub is a hub implementing the enrolment and uplink paths with the
// uplink package's types, keeping fragments in memory.
type fakeHub struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	cred  string
	pin   string // hex sha256 of the server certificate
	cert  tls.Certificate

	// answerPin, when set, replaces the pin in the enrolment answer.
	answerPin string
	failing   atomic.Bool // answer 503 to every uplink request
	revoked   atomic.Bool // answer 401 to every uplink request
	// badSeq is refused as an invalid fragment (400 with the progress);
	// maxPerPost > 0 answers 413 after that many fragments in one POST.
	badSeq     uint64
	maxPerPost int
	refusals   int

	requests atomic.Int64 // every request that reached a handler
	enrolls  atomic.Int64

	mu      sync.Mutex
	cfg     uplink.Config
	tokens  []string // enrolment tokens received
	frags   map[string][]uplink.Fragment
	lastSeq map[string]uint64
	dupes   int
	status  []uplink.Status
	bytesIn int64
	firstIn time.Time // first byte of any upload
	// markIn is when markBytes had been received: the start of the
	// steady state, past the bucket's initial burst.
	markIn    time.Time
	markBytes int64
	lastIn    time.Time // end of the last upload
	posts     int
	http1     int                  // uploads that did not come over HTTP/2
	doneAt    map[string]time.Time // per camera: end of its last upload
}

func newFakeHub(t *testing.T, cameras ...uplink.Camera) *fakeHub {
	t.Helper()
	h := &fakeHub{t: t, token: "vge_testtoken", cred: "vgc_secretcredential", frags: map[string][]uplink.Fragment{},
		lastSeq: map[string]uint64{}, doneAt: map[string]time.Time{}}
	h.cfg = uplink.Config{Gateway: "gw1", Site: "site1", Cameras: cameras}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+EnrollPath, h.enroll)
	mux.HandleFunc("GET "+uplink.PathConfig, h.auth(h.config))
	mux.HandleFunc("POST "+uplink.PathStatus, h.auth(h.postStatus))
	mux.HandleFunc("GET "+uplink.PathFragments, h.auth(h.progress))
	mux.HandleFunc("POST "+uplink.PathFragments, h.auth(h.upload))
	h.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	h.srv.EnableHTTP2 = true
	h.cert = selfSigned(t)
	h.srv.TLS = &tls.Config{Certificates: []tls.Certificate{h.cert}}
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	sum := sha256.Sum256(h.srv.Certificate().Raw)
	h.pin = hex.EncodeToString(sum[:])
	return h
}

// pinnedToken is the enrolment token carrying the hub's certificate pin.
func (h *fakeHub) pinnedToken() string { return h.token + "~" + h.pin }

func (h *fakeHub) enroll(w http.ResponseWriter, r *http.Request) {
	h.enrolls.Add(1)
	var body struct{ Token string }
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.tokens = append(h.tokens, body.Token)
	h.mu.Unlock()
	if body.Token != h.token && body.Token != h.pinnedToken() {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	pin := h.pin
	if h.answerPin != "" {
		pin = h.answerPin
	}
	writeJSON(w, map[string]string{"gateway": "gw1", "site": "site1", "credential": h.cred, "hub_cert_sha256": pin})
}

func (h *fakeHub) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case h.failing.Load():
			http.Error(w, "down", http.StatusServiceUnavailable)
		case h.revoked.Load() || r.Header.Get("Authorization") != "Bearer "+h.cred:
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		default:
			next(w, r)
		}
	}
}

func (h *fakeHub) config(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	writeJSON(w, h.cfg)
}

func (h *fakeHub) postStatus(w http.ResponseWriter, r *http.Request) {
	var st uplink.Status
	if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
		http.Error(w, "bad status", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.status = append(h.status, st)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (h *fakeHub) key(r *http.Request) string {
	return r.PathValue("id") + "/" + r.URL.Query().Get("origin")
}

func (h *fakeHub) progress(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	writeJSON(w, h.progressLocked(r))
}

func (h *fakeHub) progressLocked(r *http.Request) uplink.Progress {
	k := h.key(r)
	p := uplink.Progress{Camera: r.PathValue("id"), Origin: r.URL.Query().Get("origin"), LastSeq: h.lastSeq[k]}
	if fs := h.frags[k]; len(fs) > 0 {
		p.End = fs[len(fs)-1].Start.Add(fs[len(fs)-1].Duration)
	}
	return p
}

// markBytes is where the fake hub starts measuring the upload rate: after
// the token bucket's initial burst (100 ms of the cap) and what HTTP/2
// buffers before the handler reads.
const markBytes = 150_000

// countingReader counts the bytes of an upload as the hub reads them.
type countingReader struct {
	r io.Reader
	h *fakeHub
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.mu.Lock()
		if c.h.firstIn.IsZero() {
			c.h.firstIn = time.Now()
		}
		c.h.bytesIn += int64(n)
		if c.h.markIn.IsZero() && c.h.bytesIn >= markBytes {
			c.h.markIn, c.h.markBytes = time.Now(), c.h.bytesIn
		}
		c.h.mu.Unlock()
	}
	return n, err
}

func (h *fakeHub) upload(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != uplink.ContentType {
		http.Error(w, "content type", http.StatusUnsupportedMediaType)
		return
	}
	if r.ProtoMajor != 2 {
		h.mu.Lock()
		h.http1++
		h.mu.Unlock()
	}
	dec := uplink.NewDecoder(&countingReader{r: r.Body, h: h})
	k := h.key(r)
	n := 0
	for {
		f, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.Data = bytes.Clone(f.Data)
		h.mu.Lock()
		if f.Seq == h.badSeq || (h.maxPerPost > 0 && n == h.maxPerPost) {
			status, code := http.StatusBadRequest, "bad_request"
			if f.Seq != h.badSeq {
				status, code = http.StatusRequestEntityTooLarge, "too_large"
			}
			h.refusals++
			p := h.progressLocked(r)
			h.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": "refused", "code": code, "progress": p})
			return
		}
		n++
		if f.Seq <= h.lastSeq[k] {
			h.dupes++
		} else {
			h.frags[k] = append(h.frags[k], f)
			h.lastSeq[k] = f.Seq
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	h.lastIn = time.Now()
	h.doneAt[r.PathValue("id")] = h.lastIn
	h.posts++
	p := h.progressLocked(r)
	h.mu.Unlock()
	writeJSON(w, p)
}

// fragments returns a copy of what the hub holds of camera (any origin).
func (h *fakeHub) fragments(camera string) []uplink.Fragment {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []uplink.Fragment
	for k, fs := range h.frags {
		if len(k) > len(camera) && k[:len(camera)+1] == camera+"/" {
			out = append(out, fs...)
		}
	}
	return out
}

func (h *fakeHub) duplicates() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dupes
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// waitFor polls cond until it holds or d passes (the conditions are
// states of other processes, with no signal to wait on).
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// selfSigned makes a fresh certificate for 127.0.0.1, so every fake hub
// has its own pin.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "fake hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
