package gateway

import (
	"context"
	"sync/atomic"

	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/spool"
)

// spoolJob is one fragment waiting for the spool writer.
type spoolJob struct {
	camera string
	f      record.Fragment
}

// camSignal wakes a camera's uploader when the spool made its fragments
// durable.
type camSignal struct {
	ch      chan struct{} // capacity 1
	refused atomic.Uint64 // seq the hub last refused as bad (400)
}

// signal returns the camera's signal, creating it (one per camera id,
// kept for the gateway's life).
func (g *Gateway) signal(camera string) *camSignal {
	g.mu.Lock()
	defer g.mu.Unlock()
	s, ok := g.signals[camera]
	if !ok {
		s = &camSignal{ch: make(chan struct{}, 1)}
		g.signals[camera] = s
	}
	return s
}

// enqueue hands a fragment to the spool writer. It runs on the camera's
// publisher goroutine and never blocks: a full queue drops the fragment
// and counts it (the status loop logs drops).
func (g *Gateway) enqueue(camera string, f record.Fragment) {
	n := int64(len(f.Data))
	if g.queued.Add(n) > g.cfg.QueueBytes {
		g.queued.Add(-n)
		g.queueDrops.Add(1)
		return
	}
	select {
	case g.queue <- spoolJob{camera: camera, f: f}:
	default:
		g.queued.Add(-n)
		g.queueDrops.Add(1)
	}
}

// writeLoop appends queued fragments to the spool (disk I/O, off the
// cameras' goroutines). When ctx ends it drains what is queued and returns.
func (g *Gateway) writeLoop(ctx context.Context) {
	for {
		select {
		case j := <-g.queue:
			g.write(j)
		case <-ctx.Done():
			for {
				select {
				case j := <-g.queue:
					g.write(j)
				default:
					return
				}
			}
		}
	}
}

func (g *Gateway) write(j spoolJob) {
	g.queued.Add(-int64(len(j.f.Data)))
	_, err := g.spool.Append(j.camera, spool.Fragment{Start: j.f.Start, Duration: j.f.Duration, Key: j.f.Key,
		Init: j.f.Init, Data: j.f.Data})
	if err != nil {
		if g.appendFails.Add(1) == 1 {
			g.log.Error("cannot spool a fragment", "camera", j.camera, "err", err)
		}
		return
	}
}

// durable wakes a camera's uploader once a spool sync made its fragments
// durable (listed by Pending): the uploader waits for this signal alone,
// so a camera's last fragment is uploaded even when no other follows.
func (g *Gateway) durable(camera string, _ uint64) {
	select {
	case g.signal(camera).ch <- struct{}{}:
	default:
	}
}
