package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"golang.org/x/time/rate"

	"github.com/vigil-video/vigil/internal/spool"
	"github.com/vigil-video/vigil/internal/uplink"
)

// errUploadDone ends an upload stream's writer once the request is over.
var errUploadDone = errors.New("upload finished")

// upload sends a camera's spooled fragments to the hub in seq order until
// ctx ends or the uplink fails (the supervisor then retries, resuming from
// the hub's progress). A fragment is acknowledged in the spool (and so
// freed) only after the hub said it holds it durably.
func (g *Gateway) upload(ctx context.Context, camera string, log *slog.Logger) error {
	origin := g.spool.Origin()
	if !g.waitHold(ctx) {
		return nil
	}
	p, err := g.client.Progress(ctx, camera, origin)
	if err != nil {
		return g.uplinkErr(ctx, err, log)
	}
	last := p.LastSeq
	if err := g.ack(camera, last); err != nil {
		return err
	}
	sig := g.signal(camera)
	for {
		if ctx.Err() != nil {
			// stopping: a failed send after the cancel is no reason to go on
			return nil
		}
		entries, err := g.spool.Pending(camera, last, batchFragments)
		if err != nil {
			return fmt.Errorf("list pending fragments of %s: %w", camera, err)
		}
		if len(entries) == 0 {
			if !g.wait(ctx, sig) {
				return nil
			}
			continue
		}
		batch := cutBatch(entries)
		sent, p, err := g.send(ctx, camera, origin, batch, log)
		if err != nil {
			next, err := g.uploadFailed(ctx, camera, batch, sig, err, log)
			if err != nil {
				return err
			}
			last = max(last, next)
			continue
		}
		if sent > 0 && p.LastSeq < sent {
			return fmt.Errorf("upload %s: hub holds up to seq %d after a stream ending at %d", camera, p.LastSeq, sent)
		}
		if err := g.ack(camera, p.LastSeq); err != nil {
			return err
		}
		last = max(batch[len(batch)-1].Seq, p.LastSeq)
	}
}

// uploadFailed handles a failed upload of batch. What the hub's error
// answer says it holds is acknowledged. A 413 goes on after the hub's
// progress at once. A fragment the hub refuses (400) twice in a row is
// skipped (it would block the camera forever; the hub records the hole).
// Otherwise it returns the error, for the supervisor's backoff. It returns
// the seq to go on after.
func (g *Gateway) uploadFailed(ctx context.Context, camera string, batch []spool.Entry, sig *camSignal, err error, log *slog.Logger) (uint64, error) {
	var ue *UploadError
	if !errors.As(err, &ue) || !ue.HasProgress {
		return 0, g.uplinkErr(ctx, err, log)
	}
	p := ue.Progress
	if aerr := g.ack(camera, p.LastSeq); aerr != nil {
		return 0, aerr
	}
	if ue.Status == http.StatusRequestEntityTooLarge && p.LastSeq >= batch[0].Seq {
		return p.LastSeq, nil
	}
	if ue.Status != http.StatusBadRequest {
		return 0, err
	}
	bad := uint64(0)
	for _, e := range batch {
		if e.Seq > p.LastSeq && !e.Corrupt {
			bad = e.Seq
			break
		}
	}
	if bad == 0 || sig.refused.Swap(bad) != bad {
		return 0, err
	}
	log.Error("the hub refused a fragment twice; skipping it (the hub records the hole)", "seq", bad, "err", err)
	return bad, nil
}

// wait blocks until a spool sync made more of the camera's fragments
// durable (the signal is buffered: one that came before the wait is kept).
func (g *Gateway) wait(ctx context.Context, sig *camSignal) bool {
	select {
	case <-ctx.Done():
		return false
	case <-sig.ch:
	}
	return true
}

// cutBatch bounds a batch to batchBytes (at least one entry).
func cutBatch(entries []spool.Entry) []spool.Entry {
	size := 0
	for i, e := range entries {
		size += e.Size
		if i > 0 && size > batchBytes {
			return entries[:i]
		}
	}
	return entries
}

// ack frees what the hub holds and forgets the lost ranges it was told of.
func (g *Gateway) ack(camera string, upTo uint64) error {
	if upTo == 0 {
		return nil
	}
	if err := g.spool.Ack(camera, upTo); err != nil {
		return fmt.Errorf("acknowledge %s up to %d: %w", camera, upTo, err)
	}
	if err := g.spool.ForgetDropped(camera, upTo); err != nil {
		return fmt.Errorf("acknowledge %s up to %d: %w", camera, upTo, err)
	}
	return nil
}

// uplinkErr notes a refused credential or a 429 (every loop then holds
// off) and waits the hold-off out, so the supervisor's backoff comes on
// top; it returns err (nil once ctx ended).
func (g *Gateway) uplinkErr(ctx context.Context, err error, log *slog.Logger) error {
	if errors.Is(err, ErrCredentialRefused) {
		log.Error("the hub refused the gateway's credential; recording goes on locally, retrying slowly", "retry", g.cfg.RevokedRetry)
	}
	g.holdOff(err)
	if !g.waitHold(ctx) {
		return nil
	}
	return err
}

// send posts one batch as a fragment stream built while it is sent
// (io.Pipe: memory stays bounded by one fragment), under the shared rate
// cap. It returns the last seq it put in the stream (0: none) and the hub's
// answer. Corrupt or already freed fragments are skipped: the hub records
// the hole.
func (g *Gateway) send(ctx context.Context, camera, origin string, batch []spool.Entry, log *slog.Logger) (uint64, uplink.Progress, error) {
	if !hasSendable(batch) {
		return 0, uplink.Progress{}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	var sent atomic.Uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := &rateWriter{ctx: ctx, w: pw, lim: g.limiter, count: &g.uploaded}
		pw.CloseWithError(g.encode(uplink.NewEncoder(w), camera, batch, &sent, log))
	}()
	p, err := g.client.Upload(ctx, camera, origin, pr)
	cancel()
	pr.CloseWithError(errUploadDone)
	<-done
	return sent.Load(), p, err
}

func hasSendable(batch []spool.Entry) bool {
	for _, e := range batch {
		if !e.Corrupt {
			return true
		}
	}
	return false
}

// encode writes the batch's fragments to enc.
func (g *Gateway) encode(enc *uplink.Encoder, camera string, batch []spool.Entry, sent *atomic.Uint64, log *slog.Logger) error {
	for _, e := range batch {
		if e.Corrupt {
			log.Warn("skipping a corrupt spooled fragment", "seq", e.Seq, "start", e.Start)
			continue
		}
		init, data, err := g.spool.Read(camera, e.Seq)
		if errors.Is(err, spool.ErrCorrupt) || errors.Is(err, spool.ErrNotFound) {
			log.Warn("skipping an unreadable spooled fragment", "seq", e.Seq, "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if err := enc.Write(uplink.Fragment{Seq: e.Seq, Init: init, Data: data, Start: e.Start,
			Duration: e.Duration, Key: e.Key}); err != nil {
			return err
		}
		sent.Store(e.Seq)
	}
	return nil
}

// rateWriter writes in chunks of rateChunk, each waiting for its bytes
// from the shared token bucket (nil: no cap), and counts what it wrote.
type rateWriter struct {
	ctx   context.Context
	w     io.Writer
	lim   *rate.Limiter
	count *atomic.Int64
}

func (r *rateWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), rateChunk)
		if r.lim != nil {
			if err := r.lim.WaitN(r.ctx, n); err != nil {
				return written, err
			}
		}
		m, err := r.w.Write(p[:n])
		written += m
		r.count.Add(int64(m))
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
