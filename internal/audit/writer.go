package audit

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Record queues e. It returns once e is queued (not yet committed: see
// Sync); when the queue is full it waits, until ctx ends. Callers that
// must not lose the entry when their request is cancelled pass
// context.WithoutCancel. After Run has returned it fails with ErrClosed.
func (l *Log) Record(ctx context.Context, e Entry) error {
	return l.send(ctx, item{e: e})
}

// Sync waits until every entry queued before it is committed. It needs Run.
func (l *Log) Sync(ctx context.Context) error {
	done := make(chan error, 1)
	if err := l.send(ctx, item{sync: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: sync: %w", ctx.Err())
	}
}

func (l *Log) send(ctx context.Context, it item) error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	l.senders.Add(1)
	l.mu.RUnlock()
	defer l.senders.Done()
	if it.sync == nil && it.e.Time.IsZero() {
		it.e.Time = l.opt.Now()
	}
	select {
	case l.ch <- it:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit: record %s: %w", it.e.Action, ctx.Err())
	}
}

// Run commits queued entries, signs the chain head and ends idle live
// views until ctx ends. Then it ends the open live views (live_stop),
// commits everything queued, signs the head and returns. It returns an
// error only when the last commit fails.
func (l *Log) Run(ctx context.Context) error {
	// Opened even when ctx has ended, so that what is queued is committed.
	own, err := l.openWriter(context.WithoutCancel(ctx))
	if err != nil {
		l.log.Warn("audit commits share the caller's connection", "err", err)
	}
	l.wdb = l.db
	if own != nil {
		l.wdb = own
		defer own.Close()
	}
	var wg sync.WaitGroup
	presenceDone := make(chan struct{})
	wg.Go(func() {
		defer close(presenceDone)
		l.runPresence(ctx)
	})
	defer wg.Wait()
	return l.runWriter(ctx, presenceDone)
}

// openWriter opens a connection of the log's own to the database file, so
// that its commits do not hold the connection the caller's db reads and
// writes through (the index's writer, which also serves logins); nil for
// an in-memory database. SQLite still serialises the transactions.
func (l *Log) openWriter(ctx context.Context) (*sql.DB, error) {
	file, err := l.dbFile(ctx)
	if err != nil || file == "" {
		return nil, err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("audit: open writer: %w", err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, fmt.Errorf("audit: open writer: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit: open writer: %w", err)
	}
	return db, nil
}

// writer is the state of one runWriter call.
type writer struct {
	pending []item
	failing bool
}

func (l *Log) runWriter(ctx context.Context, presenceDone <-chan struct{}) error {
	var w writer
	tick := time.NewTicker(l.opt.FlushInterval)
	defer tick.Stop()
	for {
		in := l.ch
		if len(w.pending) >= 4*l.opt.BatchSize {
			in = nil // commits are failing: make senders wait
		}
		select {
		case it := <-in:
			w.pending = append(w.pending, it)
			if it.sync != nil || w.entries() >= l.opt.BatchSize {
				l.flush(&w)
			}
		case <-tick.C:
			l.flush(&w)
			l.maybeSignHead(false)
		case <-ctx.Done():
			return l.shutdown(&w, presenceDone)
		}
	}
}

// shutdown stops accepting entries once the live views have been ended
// and every sender has handed its entry over, then commits and signs.
func (l *Log) shutdown(w *writer, presenceDone <-chan struct{}) error {
	allIn := make(chan struct{})
	go func() {
		<-presenceDone
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		l.senders.Wait()
		close(allIn)
	}()
	for done := false; !done; {
		select {
		case it := <-l.ch:
			w.pending = append(w.pending, it)
			if w.entries() >= l.opt.BatchSize {
				l.flush(w)
			}
		case <-allIn:
			done = true
		}
	}
	for {
		select {
		case it := <-l.ch:
			w.pending = append(w.pending, it)
			continue
		default:
		}
		break
	}
	err := l.flush(w)
	if err != nil {
		return fmt.Errorf("audit: final commit: %w", err)
	}
	l.maybeSignHead(true)
	return nil
}

func (w *writer) entries() int {
	n := 0
	for _, it := range w.pending {
		if it.sync == nil {
			n++
		}
	}
	return n
}

// flush commits the pending entries in one transaction and answers the
// pending syncs. On failure the entries stay pending for the next try.
func (l *Log) flush(w *writer) error {
	if len(w.pending) == 0 {
		return nil
	}
	err := l.commit(w.pending)
	if err != nil {
		if !w.failing {
			l.log.Error("audit commit failed; entries kept queued", "err", err, "queued", len(w.pending))
		}
		w.failing = true
	} else if w.failing {
		l.log.Info("audit commits work again")
		w.failing = false
	}
	if err == nil {
		for _, it := range w.pending {
			if it.sync != nil {
				it.sync <- nil
			}
		}
		clear(w.pending)
		w.pending = w.pending[:0]
	}
	return err
}

// commit appends entries to the chain in one transaction, and signs the
// head in it when it is due.
func (l *Log) commit(items []item) error {
	tx, err := l.wdb.Begin()
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	seq, prev := l.lastSeq, l.lastHash
	rows := make([]any, 0, insertChunk*14)
	for _, it := range items {
		if it.sync != nil {
			continue
		}
		seq++
		r := toRecord(seq, it.e)
		r.PrevHash = hex.EncodeToString(prev[:])
		prev = computeHash(prev, &r)
		r.Hash = hex.EncodeToString(prev[:])
		rows = append(rows, r.Seq, r.Time, r.User, r.Role, r.Action, r.Camera, r.Site, r.From, r.To,
			r.Reason, r.Remote, string(r.Detail), r.PrevHash, r.Hash)
		if len(rows) == cap(rows) {
			if err := insertRows(tx, rows); err != nil {
				return err
			}
			rows = rows[:0]
		}
	}
	if err := insertRows(tx, rows); err != nil {
		return err
	}
	due := seq > l.headSeq && l.opt.Now().Sub(l.headTime) >= l.opt.HeadInterval
	var at string
	if due {
		if at, err = l.insertHead(tx, seq, prev); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	l.lastSeq, l.lastHash = seq, prev
	if due {
		l.noteHead(seq, at)
	}
	return nil
}

// insertChunk is how many records one INSERT statement writes.
const insertChunk = 32

// insertRows inserts records given as 14 values each, in one statement.
func insertRows(tx *sql.Tx, vals []any) error {
	n := len(vals) / 14
	if n == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO audit_log (seq, time, username, role, action, camera, site,
		from_time, to_time, reason, remote, detail, prev_hash, hash) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	if _, err := tx.Exec(q.String(), vals...); err != nil {
		return fmt.Errorf("insert records %v..: %w", vals[0], err)
	}
	return nil
}

// maybeSignHead signs the chain head when records were added since the
// last head and HeadInterval has passed (or always, with force).
func (l *Log) maybeSignHead(force bool) {
	if l.lastSeq <= l.headSeq || (!force && l.opt.Now().Sub(l.headTime) < l.opt.HeadInterval) {
		return
	}
	at, err := l.insertHead(l.wdb, l.lastSeq, l.lastHash)
	if err != nil {
		l.log.Error("audit head not signed", "err", err, "seq", l.lastSeq)
		return
	}
	l.noteHead(l.lastSeq, at)
}

func (l *Log) noteHead(seq int64, at string) {
	l.headSeq = seq
	l.headTime, _ = time.Parse(TimeLayout, at)
}

type execer interface {
	Exec(query string, args ...any) (sql.Result, error)
}

// insertHead signs (seq, hash) and stores the head.
func (l *Log) insertHead(db execer, seq int64, hash [32]byte) (string, error) {
	at := fmtTime(l.opt.Now())
	sig := l.signer.Sign(headMessage(seq, hash, at))
	if _, err := db.Exec(`INSERT INTO audit_heads (seq, hash, time, signature) VALUES (?,?,?,?)`,
		seq, hex.EncodeToString(hash[:]), at, sig); err != nil {
		return "", fmt.Errorf("insert head %d: %w", seq, err)
	}
	return at, nil
}

// toRecord turns an entry into the stored text fields, clipped.
func toRecord(seq int64, e Entry) Record {
	r := Record{Seq: seq, Time: fmtTime(e.Time), User: clip(e.User), Role: clip(e.Role),
		Action: clip(e.Action), Camera: clip(e.Camera), Site: clip(e.Site), From: fmtTime(e.From),
		To: fmtTime(e.To), Reason: clip(e.Reason), Remote: clip(e.Remote), Detail: json.RawMessage("{}")}
	if len(e.Detail) > 0 {
		if b, err := json.Marshal(e.Detail); err == nil && len(b) <= 4*maxField {
			r.Detail = b
		} else {
			r.Detail = json.RawMessage(`{"detail":"unencodable or too large"}`)
		}
	}
	return r
}

// TimeLayout is how record times are stored: RFC 3339 in UTC with all
// nine fraction digits, so that text order is time order.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// fmtTime formats t with TimeLayout, "" for the zero time.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// clip cuts s to maxField bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	i := maxField
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}
