package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/auth"
)

// Auditor is the audit trail the API writes to and serves; *audit.Log
// implements it.
type Auditor interface {
	// Record queues one entry.
	Record(ctx context.Context, e audit.Entry) error
	// LiveSeen notes one live HLS playlist request (live_start on the
	// first of a principal for a camera, live_stop once they stop).
	LiveSeen(ctx context.Context, e audit.Entry) error
	// Sync waits until queued entries are stored.
	Sync(ctx context.Context) error
	// List pages through the records, newest first.
	List(ctx context.Context, f audit.Filter) (audit.Page, error)
	// Verify checks the hash chain and the signed heads.
	Verify(ctx context.Context) (audit.Report, error)
}

var _ Auditor = (*audit.Log)(nil)

// AuditLive is the Route.Audit value of a live HLS playlist: the
// principal's first request for the camera records live_start, and
// live_stop follows once its requests stop (see audit.Log.LiveSeen).
const AuditLive = "live"

// maxReason caps the reason kept from ?reason=, in bytes.
const maxReason = 500

// entry starts an audit entry for the principal of r.
func entry(r *http.Request, p auth.Principal, action string) audit.Entry {
	return audit.Entry{User: p.Username, Role: string(p.Role), Action: action, Remote: RemoteIP(r)}
}

// record queues e. A request's cancellation does not lose the entry: it
// waits for room in the queue (the queue is bounded, nothing is dropped).
func (a *API) record(r *http.Request, e audit.Entry) {
	if a.audit == nil {
		return
	}
	var err error
	if e.Action == AuditLive {
		err = a.audit.LiveSeen(context.WithoutCancel(r.Context()), e)
	} else {
		err = a.audit.Record(context.WithoutCancel(r.Context()), e)
	}
	if err != nil {
		a.log.Error("audit entry not recorded", "action", e.Action, "user", e.User, "err", err)
	}
}

// queryTime parses an RFC 3339 query value, the zero time when absent or
// malformed (the handler answers malformed ones with 400: no entry).
func queryTime(r *http.Request, name string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, r.URL.Query().Get(name))
	if err != nil {
		return time.Time{}
	}
	return t
}

// reasonOf is the ?reason= of r, clipped.
func reasonOf(r *http.Request) string {
	s := strings.TrimSpace(r.URL.Query().Get("reason"))
	if len(s) > maxReason {
		s = strings.ToValidUTF8(s[:maxReason], "")
	}
	return s
}

// statusWriter notes the status of an answer and calls onStatus once,
// when the status is known (before the body is written).
type statusWriter struct {
	http.ResponseWriter
	code     int
	onStatus func(code int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
		if w.onStatus != nil {
			w.onStatus(code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func ok2xx(code int) bool { return code >= 200 && code < 300 }

// auditExtra wraps an extra route's handler: it checks the playback
// reason when Config.RequirePlaybackReason asks for one, and records
// x.Audit when the handler answers 2xx.
func (a *API) auditExtra(x Route, w http.ResponseWriter, r *http.Request, req Request) {
	if x.Audit == audit.ActionPlayback && a.cfg.RequirePlaybackReason && reasonOf(r) == "" {
		WriteError(w, http.StatusBadRequest, "reason is required: say why you play this recording back (?reason=)")
		return
	}
	if a.audit == nil || x.Audit == "" || !firstRequestOf(x, r) {
		x.Handler(w, r, req)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	sw.onStatus = func(code int) {
		if ok2xx(code) {
			a.record(r, a.extraEntry(x, sw, r, req))
		}
	}
	x.Handler(sw, r, req)
}

// firstRequestOf reports whether r starts what x audits: a HEAD (the page
// checks an export before downloading it) or a Range request that resumes
// a download past its first byte is part of a view already recorded.
func firstRequestOf(x Route, r *http.Request) bool {
	if r.Method == http.MethodHead {
		return false
	}
	rng := r.Header.Get("Range")
	return x.Audit != audit.ActionExport || rng == "" || strings.HasPrefix(rng, "bytes=0-")
}

// extraEntry is the audit entry of an extra route's answer.
func (a *API) extraEntry(x Route, w http.ResponseWriter, r *http.Request, req Request) audit.Entry {
	e := entry(r, req.Principal, x.Audit)
	e.Camera, e.Site = req.Camera.ID, req.Camera.Site
	if x.AuditQuery {
		e.From, e.To, e.Reason = queryTime(r, "from"), queryTime(r, "to"), reasonOf(r)
		if at := queryTime(r, "at"); !at.IsZero() {
			e.From = at
		}
	}
	switch x.Audit {
	case audit.ActionLiveStart, audit.ActionLiveStop:
		e.Detail = map[string]any{"via": "whep"}
		sid := r.PathValue("session")
		if loc := w.Header().Get("Location"); sid == "" && loc != "" {
			sid = path.Base(loc)
		}
		if sid != "" {
			e.Detail["session"] = sid
		}
	case audit.ActionSnapshot:
		if e.From.IsZero() {
			e.Detail = map[string]any{"live": true}
		}
	}
	return e
}

// audited wraps a built-in handler so that a 2xx answer records the
// entry fill builds (nothing when the API has no Auditor).
func (a *API) audited(h handlerFunc, fill func(r *http.Request, e *audit.Entry)) handlerFunc {
	if a.audit == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		sw := &statusWriter{ResponseWriter: w}
		if err := h(sw, r, p); err != nil || !ok2xx(max(sw.code, 200)) {
			return err
		}
		e := entry(r, p, "")
		fill(r, &e)
		a.record(r, e)
		return nil
	}
}

// searchRecordings fills the entry of GET /cameras/{id}/recordings.
func (a *API) searchRecordings(r *http.Request, e *audit.Entry) {
	e.Action = audit.ActionSearch
	e.Camera = r.PathValue("id")
	if c, err := a.idx.GetCamera(r.Context(), e.Camera); err == nil {
		e.Site = c.Site
	}
	e.From, e.To = queryTime(r, "from"), queryTime(r, "to")
	e.Detail = map[string]any{"what": "recordings"}
}

// searchEvents fills the entry of GET /events.
func (a *API) searchEvents(r *http.Request, e *audit.Entry) {
	q := r.URL.Query()
	e.Action = audit.ActionSearch
	e.Camera, e.Site = q.Get("camera"), q.Get("site")
	if e.Camera != "" && e.Site == "" {
		if c, err := a.idx.GetCamera(r.Context(), e.Camera); err == nil {
			e.Site = c.Site
		}
	}
	e.From, e.To = queryTime(r, "from"), queryTime(r, "to")
	e.Detail = map[string]any{"what": "events"}
	if t := q.Get("type"); t != "" {
		e.Detail["type"] = t
	}
}

// maxCapture caps what change auditing reads of a request or an answer.
const maxCapture = 64 << 10

// changed wraps a POST, PATCH or DELETE handler of the API's own
// resources: a 2xx answer records a change entry with the method, the
// route, the target id and the names (never the values) of the fields
// sent.
func (a *API) changed(h handlerFunc) handlerFunc {
	if a.audit == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		var in bytes.Buffer
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.TeeReader(r.Body, &limitedBuffer{buf: &in, max: maxCapture}), r.Body}
		}
		cw := &captureWriter{statusWriter: statusWriter{ResponseWriter: w}}
		if err := h(cw, r, p); err != nil || !ok2xx(max(cw.code, 200)) {
			return err
		}
		a.record(r, changeEntry(r, p, in.Bytes(), cw.body.Bytes()))
		return nil
	}
}

// changeEntry describes a change without secrets: the target id comes
// from the path, or from the "id"/"username" of the created object; a
// camera change names the camera (and its site when the answer shows it),
// a site change the site.
func changeEntry(r *http.Request, p auth.Principal, reqBody, respBody []byte) audit.Entry {
	e := entry(r, p, audit.ActionChange)
	resource := strings.Split(strings.TrimPrefix(r.Pattern[strings.Index(r.Pattern, " ")+1:], "/api/v1/"), "/")[0]
	var answer struct {
		ID       string `json:"id"`
		Username string `json:"username"`
		Site     string `json:"site"`
	}
	_ = json.Unmarshal(respBody, &answer)
	target := cmpOr(cmpOr(r.PathValue("id"), r.PathValue("name")), cmpOr(answer.ID, answer.Username))
	detail := map[string]any{"method": r.Method, "resource": resource, "target": target}
	var fields map[string]json.RawMessage
	if json.Unmarshal(reqBody, &fields) == nil && len(fields) > 0 {
		detail["fields"] = slices.Sorted(maps.Keys(fields))
	}
	switch resource {
	case "cameras":
		e.Camera, e.Site = target, answer.Site
	case "sites":
		e.Site = target
	}
	e.Detail = detail
	return e
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(b []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

// captureWriter keeps the start of a (small JSON) answer.
type captureWriter struct {
	statusWriter
	body bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	(&limitedBuffer{buf: &w.body, max: maxCapture}).Write(b)
	return w.statusWriter.Write(b)
}

// auditRecordJSON is one record in GET /api/v1/audit.
type auditRecordJSON struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	User     string          `json:"user"`
	Role     string          `json:"role"`
	Action   string          `json:"action"`
	Camera   string          `json:"camera,omitempty"`
	Site     string          `json:"site,omitempty"`
	From     string          `json:"from,omitempty"`
	To       string          `json:"to,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	Remote   string          `json:"remote,omitempty"`
	Detail   json.RawMessage `json:"detail"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

func toAuditJSON(r audit.Record) auditRecordJSON {
	d := json.RawMessage(r.Detail)
	if !json.Valid(d) {
		d, _ = json.Marshal(string(r.Detail)) // a tampered row: show it as text
	}
	return auditRecordJSON{Seq: r.Seq, Time: r.Time, User: r.User, Role: r.Role, Action: r.Action,
		Camera: r.Camera, Site: r.Site, From: r.From, To: r.To, Reason: r.Reason, Remote: r.Remote,
		Detail: d, PrevHash: r.PrevHash, Hash: r.Hash}
}

// parseAuditQuery validates the GET /api/v1/audit query.
func parseAuditQuery(r *http.Request) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{User: q.Get("user"), Camera: q.Get("camera"), Action: q.Get("action"), Cursor: q.Get("cursor")}
	for name, v := range map[string]string{"user": f.User, "camera": f.Camera, "action": f.Action, "cursor": f.Cursor} {
		if len(v) > 256 || !validQueryText(v) {
			return f, badRequest("%s: invalid value", name)
		}
	}
	var err error
	if f.From, err = optTime(q, "from"); err != nil {
		return f, err
	}
	if f.To, err = optTime(q, "to"); err != nil {
		return f, err
	}
	f.Limit, err = parseLimit(q.Get("limit"))
	return f, err
}

// validQueryText accepts printable UTF-8 without control characters.
func validQueryText(s string) bool {
	return strings.ToValidUTF8(s, "") == s && !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f })
}

// listAudit serves GET /api/v1/audit?user=&camera=&action=&from=&to=&limit=&cursor=:
// records newest first (a site-scoped principal sees only records of its
// sites), a page at a time. The view itself is recorded (audit_view).
func (a *API) listAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := parseAuditQuery(r)
	if err != nil {
		return err
	}
	if err := a.audit.Sync(r.Context()); err != nil {
		return err
	}
	page, err := a.audit.List(r.Context(), f)
	if errors.Is(err, audit.ErrInvalid) {
		return badRequest("invalid cursor or filter")
	}
	if err != nil {
		return err
	}
	out := make([]auditRecordJSON, 0, len(page.Records))
	for _, rec := range page.Records {
		if visible(p, rec.Site) {
			out = append(out, toAuditJSON(rec))
		}
	}
	writeJSON(w, http.StatusOK, listBody("records", out, page.Next))
	e := entry(r, p, audit.ActionAuditView)
	e.Camera, e.From, e.To = f.Camera, f.From, f.To
	e.Detail = map[string]any{"what": "list"}
	for k, v := range map[string]string{"user": f.User, "action": f.Action, "cursor": f.Cursor} {
		if v != "" {
			e.Detail[k] = v
		}
	}
	a.record(r, e)
	return nil
}

type verifyJSON struct {
	OK       bool   `json:"ok"`
	Records  int64  `json:"records"`
	FirstBad *int64 `json:"first_bad"`
	Reason   string `json:"reason"`
	Signed   int64  `json:"signed"`
}

// verifyAudit serves GET /api/v1/audit/verify: checks the whole chain and
// its signed heads and names the first broken record (see audit.VerifyDB).
func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	rep, err := a.audit.Verify(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, verifyJSON{OK: rep.OK, Records: rep.Records, FirstBad: rep.FirstBad,
		Reason: rep.Reason, Signed: rep.Signed})
	e := entry(r, p, audit.ActionAuditView)
	e.Detail = map[string]any{"what": "verify", "ok": rep.OK}
	a.record(r, e)
	return nil
}
