// Package camera owns the set of running cameras: for each camera in the
// index it keeps one stream (fan-out), a recorder attached to it when the
// camera records, and, when the camera has a source URL, a supervised pull
// source. Adding, changing or removing one camera touches only that camera.
//
// A camera at a site with a gateway is remote: its gateway pulls and
// records it, pushes its live video into the stream, and uploads its
// recordings, so the hub runs neither a source nor a recorder for it.
package camera

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// Sentinel errors of PushStream.
var (
	ErrUnknownCamera = errors.New("unknown camera")
	ErrPulled        = errors.New("camera is pulled from its source; it does not accept pushes")
)

// Runner is a camera source: it publishes into the camera's stream until
// its connection ends, then returns why.
type Runner interface {
	Run(ctx context.Context) error
}

// SourceFactory builds the pull source of a camera.
type SourceFactory func(cam index.Camera, st *stream.Stream, log *slog.Logger) Runner

// Index is what the manager needs from the recordings index.
type Index interface {
	ListCameras(ctx context.Context) ([]index.Camera, error)
	Segments(ctx context.Context, camera string, from, to time.Time) ([]index.Segment, error)
	WriteEvents(ctx context.Context, ends []index.EventEnd, adds []index.Event) ([]int64, error)
}

// Deps are the manager's collaborators.
type Deps struct {
	Index   Index
	Writer  *record.Writer
	Sources SourceFactory
	Log     *slog.Logger
	// Backoff for reconnecting sources; zero takes supervise's defaults.
	Backoff supervise.Backoff
}

// Manager runs cameras.
type Manager struct {
	deps   Deps
	events chan eventOp

	mu     sync.Mutex
	ctx    context.Context
	wg     sync.WaitGroup
	cams   map[string]*cam
	remote map[string]bool // sites whose cameras a gateway pulls
}

type cam struct {
	conf    index.Camera
	remote  bool
	st      *stream.Stream
	rec     *record.Recorder
	watch   *watcher
	cancel  context.CancelFunc
	done    chan struct{}
	srcMu   sync.Mutex
	srcErr  error
	retryAt time.Time
}

// New returns a manager; Run starts it.
func New(deps Deps) *Manager {
	return &Manager{deps: deps, cams: map[string]*cam{}, events: make(chan eventOp, 4096)}
}

// Run starts every camera in the index, then serves changes until ctx ends,
// when it stops every source and ends every stream (closing segments).
func (m *Manager) Run(ctx context.Context) error {
	cams, err := m.deps.Index.ListCameras(ctx)
	if err != nil {
		return fmt.Errorf("load cameras: %w", err)
	}
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		m.runEvents()
	}()
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	for _, c := range cams {
		m.CameraChanged(ctx, c)
	}
	<-ctx.Done()
	m.mu.Lock()
	ids := make([]string, 0, len(m.cams))
	for id := range m.cams {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		m.CameraRemoved(context.Background(), id)
	}
	m.wg.Wait()
	close(m.events)
	<-evDone
	return nil
}

// CameraChanged starts a camera or applies its new configuration. A camera
// whose source, transport and recording flag are unchanged keeps running.
func (m *Manager) CameraChanged(_ context.Context, c index.Camera) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil {
		return
	}
	old := m.cams[c.ID]
	if old != nil && old.conf.Source == c.Source && old.conf.Transport == c.Transport && old.conf.Record == c.Record &&
		old.remote == m.remoteLocked(c) {
		old.conf = c
		return
	}
	if old != nil {
		m.stopLocked(old)
	}
	m.cams[c.ID] = m.startLocked(c)
}

// CameraRemoved stops a camera; its recordings stay.
func (m *Manager) CameraRemoved(_ context.Context, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.cams[id]; c != nil {
		m.stopLocked(c)
		delete(m.cams, id)
	}
}

// SetRemoteSites says which sites have a gateway: their cameras become
// remote (no hub source or recorder; pushes accepted) and the others local
// again. Only cameras whose side changes restart.
func (m *Manager) SetRemoteSites(sites map[string]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remote = sites
	if m.ctx == nil || m.ctx.Err() != nil {
		return
	}
	for id, c := range m.cams {
		if c.remote != m.remoteLocked(c.conf) {
			m.stopLocked(c)
			m.cams[id] = m.startLocked(c.conf)
		}
	}
}

// Remote reports whether camera id is pulled and recorded by its site's
// gateway.
func (m *Manager) Remote(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cams[id]
	return c != nil && c.remote
}

func (m *Manager) remoteLocked(c index.Camera) bool { return c.Site != "" && m.remote[c.Site] }

func (m *Manager) startLocked(conf index.Camera) *cam {
	log := m.deps.Log.With("camera", conf.ID)
	c := &cam{conf: conf, st: stream.New(conf.ID, stream.Options{}), remote: m.remoteLocked(conf)}
	c.watch = &watcher{m: m, camera: conf.ID, site: conf.Site}
	c.st.AddReader(c.watch)
	if c.remote {
		log.Info("camera is at a gateway's site: the gateway pulls and records it")
		return c
	}
	if conf.Record && m.deps.Writer != nil {
		c.rec = m.deps.Writer.NewRecorder(conf.ID, log.With("component", "record"))
		if end, ok := m.lastEnd(conf.ID); ok {
			c.rec.SetPrevious(end, "restart")
		}
		c.st.AddReader(c.rec)
	}
	if conf.Source != "" && m.deps.Sources != nil {
		ctx, cancel := context.WithCancel(m.ctx)
		c.cancel, c.done = cancel, make(chan struct{})
		src := log.With("component", "source")
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer close(c.done)
			supervise.Run(ctx, src, "pull", supervise.Options{Backoff: m.deps.Backoff, OnState: c.onState},
				func(ctx context.Context) error { return m.deps.Sources(conf, c.st, src).Run(ctx) })
		}()
	}
	return c
}

func (m *Manager) lastEnd(camera string) (time.Time, bool) {
	now := time.Now()
	segs, err := m.deps.Index.Segments(m.ctx, camera, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil || len(segs) == 0 {
		return time.Time{}, false
	}
	var end time.Time
	for _, s := range segs {
		if s.End.After(end) {
			end = s.End
		}
	}
	return end, true
}

func (c *cam) onState(s supervise.State) {
	c.srcMu.Lock()
	defer c.srcMu.Unlock()
	c.srcErr, c.retryAt = s.Err, s.Retry
}

func (m *Manager) stopLocked(c *cam) {
	if c.cancel != nil {
		c.cancel()
		<-c.done
	}
	if c.rec != nil {
		c.st.RemoveReader(c.rec)
	}
	c.st.RemoveReader(c.watch)
}

// Stream returns a camera's stream (for live readers).
func (m *Manager) Stream(id string) (*stream.Stream, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cams[id]
	if c == nil {
		return nil, false
	}
	return c.st, true
}

// PushStream returns the stream a pushing publisher of camera id writes to.
func (m *Manager) PushStream(id string) (*stream.Stream, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cams[id]
	if c == nil {
		return nil, fmt.Errorf("push to %q: %w", id, ErrUnknownCamera)
	}
	if c.conf.Source != "" && !c.remote {
		return nil, fmt.Errorf("push to %q: %w", id, ErrPulled)
	}
	return c.st, nil
}

// Site returns the site of camera id.
func (m *Manager) Site(id string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cams[id]
	if c == nil {
		return "", false
	}
	return c.conf.Site, true
}
