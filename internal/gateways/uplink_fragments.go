package gateways

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/uplink"
)

// importerIdle is how long an unused importer is kept before it is closed.
const importerIdle = time.Minute

// uploadIdle is how long an upload may send nothing before the hub drops
// it (freeing the camera's upload slot). An upload as a whole has no time
// limit: a backlog at a low rate cap takes long.
const uploadIdle = time.Minute

// flushTimeout bounds the final Flush of an upload, which runs even when
// the client has gone (what was stored must become durable).
const flushTimeout = 30 * time.Second

// impEntry is one (camera, origin)'s importer.
type impEntry struct {
	imp      Importer
	inUse    bool
	lastUsed time.Time
}

// uploadError is the JSON answer to a failed upload: what went wrong and
// what the hub durably holds, so the gateway can resume after it.
type uploadError struct {
	Error    string          `json:"error"`
	Code     string          `json:"code"`
	Progress uplink.Progress `json:"progress"`
}

// serveFragments serves PathFragments: GET answers the camera's progress
// for ?origin=, POST imports a fragment stream.
func (u *uplinkServer) serveFragments(w http.ResponseWriter, req *http.Request) {
	if !allowMethod(w, req, http.MethodGet, http.MethodPost) {
		return
	}
	gw := gatewayOf(req)
	camera := req.PathValue("id")
	origin := req.URL.Query().Get("origin")
	if !validOrigin(origin) {
		api400(w, "origin: 32 lowercase hex digits")
		return
	}
	c, err := u.deps.Index.GetCamera(req.Context(), camera)
	if errors.Is(err, index.ErrNotFound) {
		api.WriteError(w, http.StatusNotFound, "camera not found")
		return
	}
	if err != nil {
		u.internal(w, "get camera", err)
		return
	}
	if c.Site != gw.site {
		api.WriteError(w, http.StatusForbidden, fmt.Sprintf("camera %s is not at this gateway's site", camera))
		return
	}
	if req.Method == http.MethodGet {
		p, err := u.progress(req.Context(), camera, origin)
		if err != nil {
			u.internal(w, "imported progress", err)
			return
		}
		writeJSON(w, http.StatusOK, p)
		return
	}
	u.upload(w, req, gw, camera, origin)
}

func (u *uplinkServer) progress(ctx context.Context, camera, origin string) (uplink.Progress, error) {
	seq, end, err := u.deps.Index.LastImported(ctx, camera, origin)
	if err != nil {
		return uplink.Progress{}, fmt.Errorf("last imported of %s: %w", camera, err)
	}
	p := uplink.Progress{Camera: camera, Origin: origin, LastSeq: seq}
	if seq > 0 {
		p.End = end.UTC()
	}
	return p, nil
}

// upload imports one fragment stream into camera's recordings: one upload
// per camera at a time (409 otherwise). Fragments the index already holds
// are skipped. Whatever happens, what was imported is flushed and the
// answer carries the durable progress.
func (u *uplinkServer) upload(w http.ResponseWriter, req *http.Request, gw gatewayIdent, camera, origin string) {
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != uplink.ContentType {
		api.WriteError(w, http.StatusUnsupportedMediaType, "body must be "+uplink.ContentType)
		return
	}
	if !u.beginUpload(camera) {
		api.WriteError(w, http.StatusConflict, fmt.Sprintf("an upload of camera %s is in progress", camera))
		return
	}
	defer u.endUpload(camera)
	ctx := req.Context()
	done, err := u.progress(ctx, camera, origin)
	if err != nil {
		u.internal(w, "upload", err)
		return
	}
	key := camera + "/" + origin
	imp := u.acquire(key, camera, origin)
	rc := http.NewResponseController(w)
	body := &countingReader{r: http.MaxBytesReader(w, req.Body, u.r.cfg.MaxUpload), u: u, gw: gw,
		rc: rc, idle: u.uploadIdle}
	badErr, hubErr := u.importStream(ctx, imp, body, done.LastSeq)

	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	flushed, ferr := imp.Flush(fctx)
	if ferr != nil {
		hubErr = errors.Join(hubErr, fmt.Errorf("flush: %w", ferr))
	}
	u.release(key, hubErr != nil)
	p, perr := u.progress(fctx, camera, origin)
	if perr != nil {
		u.internal(w, "upload", errors.Join(hubErr, perr))
		return
	}
	if ferr == nil && flushed > p.LastSeq {
		u.log.Warn("importer flushed past the index", "camera", camera, "flushed", flushed, "index", p.LastSeq)
	}
	_ = rc.SetWriteDeadline(time.Now().Add(flushTimeout)) // ErrNotSupported: the server's own
	var mbe *http.MaxBytesError
	switch {
	case hubErr != nil && ctx.Err() != nil && ferr == nil:
		// the gateway went away mid-import; what was stored is durable
		u.log.Info("upload ended by the gateway", "gateway", gw.id, "camera", camera, "last_seq", p.LastSeq)
		writeJSON(w, http.StatusBadRequest, uploadError{Error: "upload interrupted", Code: "bad_request", Progress: p})
	case hubErr != nil:
		u.log.Error("upload not stored", "gateway", gw.id, "camera", camera, "err", hubErr)
		writeJSON(w, http.StatusInternalServerError, uploadError{Error: "internal error storing fragments",
			Code: "internal", Progress: p})
	case errors.As(badErr, &mbe):
		writeJSON(w, http.StatusRequestEntityTooLarge, uploadError{Error: fmt.Sprintf(
			"upload larger than %d bytes; send the rest in another request", u.r.cfg.MaxUpload),
			Code: "too_large", Progress: p})
	case badErr != nil:
		u.log.Warn("bad upload", "gateway", gw.id, "camera", camera, "err", badErr)
		writeJSON(w, http.StatusBadRequest, uploadError{Error: badErr.Error(), Code: "bad_request", Progress: p})
	default:
		writeJSON(w, http.StatusOK, p)
	}
}

// importStream hands every fragment after seq done to imp. badErr is the
// sender's fault (a bad stream or fragment), hubErr the hub's.
func (u *uplinkServer) importStream(ctx context.Context, imp Importer, body *countingReader, done uint64) (badErr, hubErr error) {
	dec := uplink.NewDecoder(body)
	for {
		f, err := dec.Next()
		if err == io.EOF {
			return nil, nil
		}
		if err != nil {
			return err, nil
		}
		if f.Seq <= done {
			continue
		}
		// waiting for the writer is not the gateway's idling
		_ = body.rc.SetReadDeadline(time.Time{})
		if _, err := imp.Import(ctx, f); err != nil {
			if u.deps.IsBadFragment(err) {
				return fmt.Errorf("fragment %d: %w", f.Seq, err), nil
			}
			return nil, fmt.Errorf("import fragment %d: %w", f.Seq, err)
		}
	}
}

func (u *uplinkServer) beginUpload(camera string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.uploads[camera] {
		return false
	}
	u.uploads[camera] = true
	return true
}

func (u *uplinkServer) endUpload(camera string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.uploads, camera)
}

// acquire returns key's importer, creating it, and marks it in use (the
// caller holds the camera's upload slot, so no one else creates or uses
// it; closeIdle never takes one in use).
func (u *uplinkServer) acquire(key, camera, origin string) Importer {
	u.mu.Lock()
	e := u.imps[key]
	if e != nil {
		e.inUse = true
	}
	u.mu.Unlock()
	if e != nil {
		return e.imp
	}
	e = &impEntry{imp: u.deps.NewImporter(camera, origin), inUse: true}
	u.mu.Lock()
	u.imps[key] = e
	u.mu.Unlock()
	return e.imp
}

// release marks key's importer idle; a failed one (or any, once Run has
// ended) is closed and forgotten.
func (u *uplinkServer) release(key string, failed bool) {
	u.mu.Lock()
	e := u.imps[key]
	e.inUse, e.lastUsed = false, u.deps.Now()
	drop := failed || u.stopped
	if drop {
		delete(u.imps, key)
	}
	u.mu.Unlock()
	if drop {
		e.imp.Close()
	}
}

// closeIdle closes importers unused since before cutoff (all unused ones
// for a zero cutoff).
func (u *uplinkServer) closeIdle(cutoff time.Time) {
	var idle []Importer
	u.mu.Lock()
	for k, e := range u.imps {
		if !e.inUse && (cutoff.IsZero() || e.lastUsed.Before(cutoff)) {
			idle = append(idle, e.imp)
			delete(u.imps, k)
		}
	}
	u.mu.Unlock()
	for _, imp := range idle {
		imp.Close()
	}
}

// countingReader counts the bytes of an upload as they arrive, for the
// gateway's hub-measured rate and received total, and gives each read
// the idle deadline (replacing the server's read timeout, if any).
type countingReader struct {
	r    io.Reader
	u    *uplinkServer
	gw   gatewayIdent
	rc   *http.ResponseController
	idle time.Duration
}

func (c *countingReader) Read(p []byte) (int, error) {
	_ = c.rc.SetReadDeadline(time.Now().Add(c.idle)) // ErrNotSupported: the server's own
	n, err := c.r.Read(p)
	if n > 0 {
		now := c.u.deps.Now()
		c.u.mu.Lock()
		c.u.stateLocked(c.gw.id, c.gw.site).addReceived(now, n)
		c.u.mu.Unlock()
	}
	return n, err
}
