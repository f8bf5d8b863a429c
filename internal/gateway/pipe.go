package gateway

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/vigil-video/vigil/internal/push"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/source/rtsp"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// camPipe is one camera's pipeline: pull (source under supervise) into a
// stream; a fragmenter on the stream feeding the spool writer; the live
// push; the uploader. All its goroutines end when it is stopped.
type camPipe struct {
	spec   camSpec
	st     *stream.Stream
	src    *rtsp.Source
	live   atomic.Bool // used with Config.Push
	push   push.Stats
	cancel context.CancelFunc
	done   chan struct{}
}

func (g *Gateway) startPipe(ctx context.Context, spec camSpec) *camPipe {
	ctx, cancel := context.WithCancel(ctx)
	id := spec.cam.ID
	log := g.log.With("camera", id)
	p := &camPipe{spec: spec, cancel: cancel, done: make(chan struct{}), st: stream.New(id, stream.Options{})}
	var wg sync.WaitGroup
	defer func() {
		go func() {
			wg.Wait()
			close(p.done)
		}()
	}()
	if spec.drain {
		wg.Go(func() { g.runUpload(ctx, id, log) })
		return p
	}
	transport := spec.cam.Transport
	if transport == "auto" {
		transport = rtsp.TransportAuto
	}
	p.src = rtsp.New(rtsp.Config{URL: spec.cam.Source, Transport: transport}, p.st, log)
	if g.onStream != nil {
		g.onStream(id, p.st)
	}
	if spec.cam.Record {
		rc := g.cfg.Record
		rc.KeyFragments = true // any fragment may start a hub segment: it must decode alone
		p.st.AddReader(record.NewFragmenter(id, rc, func(f record.Fragment) { g.enqueue(id, f) }, log))
	}
	wg.Go(func() {
		_ = supervise.Run(ctx, log, "source", supervise.Options{Backoff: g.cfg.SourceBackoff}, p.src.Run)
	})
	if spec.push != "" {
		wg.Go(func() { g.runPush(ctx, p, log) })
	}
	if spec.cam.Record {
		wg.Go(func() { g.runUpload(ctx, id, log) })
	}
	return p
}

// runUpload runs the camera's uploader under supervise.
func (g *Gateway) runUpload(ctx context.Context, camera string, log *slog.Logger) {
	_ = supervise.Run(ctx, log, "upload", supervise.Options{Backoff: g.cfg.UploadBackoff},
		func(ctx context.Context) error { return g.upload(ctx, camera, log) })
}

// runPush pushes the camera's live video to the hub under supervise, with
// push.Run or Config.Push.
func (g *Gateway) runPush(ctx context.Context, p *camPipe, log *slog.Logger) {
	target := PushTarget{URL: p.spec.push, User: g.id.Gateway, Pass: g.id.Credential}
	if strings.HasPrefix(p.spec.push, "rtsps://") {
		target.TLS = g.id.TLS()
	}
	opts := supervise.Options{Backoff: g.cfg.PushBackoff}
	fn := func(ctx context.Context) error {
		return push.Run(ctx, p.st, push.Config{URL: target.URL, User: target.User, Pass: target.Pass, TLS: target.TLS}, log, &p.push)
	}
	if g.cfg.Push != nil {
		opts.OnState = func(s supervise.State) { p.live.Store(s.Running) }
		fn = func(ctx context.Context) error { return g.cfg.Push(ctx, p.st, target) }
	}
	_ = supervise.Run(ctx, log, "push", opts, fn)
}

// isLive says the live push is up.
func (p *camPipe) isLive() bool { return p.push.Live.Load() || p.live.Load() }

// stop stops the pipeline and waits for it.
func (p *camPipe) stop() {
	p.cancel()
	<-p.done
}
