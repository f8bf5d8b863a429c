package camera

import (
	"context"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/media"
)

// watcher is a stream reader that turns publish sessions into
// camera_online / camera_offline events. It runs inline and only queues.
type watcher struct {
	m      *Manager
	camera string
	site   string
	mu     sync.Mutex
	online bool
}

type eventOp struct {
	camera, site string
	online       bool
	at           time.Time
}

func (w *watcher) Begin([]media.Track)     { w.set(true) }
func (w *watcher) End()                    { w.set(false) }
func (w *watcher) Write(*media.AccessUnit) {}

func (w *watcher) set(online bool) {
	w.mu.Lock()
	changed := w.online != online
	w.online = online
	w.mu.Unlock()
	if !changed || w.m.ctx.Err() != nil {
		return // no status events for the hub's own shutdown
	}
	select {
	case w.m.events <- eventOp{camera: w.camera, site: w.site, online: online, at: time.Now().UTC()}:
	default:
		w.m.deps.Log.Warn("event queue full; camera status event lost", "camera", w.camera)
	}
}

// runEvents writes status events to the index. An offline event stays open
// until the camera is back, so its start and end bound the outage.
func (m *Manager) runEvents() {
	open := map[string]int64{}
	for op := range m.events {
		ctx := context.Background()
		if op.online {
			if id, ok := open[op.camera]; ok {
				if err := m.deps.Index.EndEvent(ctx, id, op.at); err != nil {
					m.deps.Log.Error("end offline event", "camera", op.camera, "err", err)
				}
				delete(open, op.camera)
			}
			m.addEvent(ctx, index.Event{Camera: op.camera, Site: op.site, Type: "camera_online", Start: op.at, Data: "{}"})
			continue
		}
		if id := m.addEvent(ctx, index.Event{Camera: op.camera, Site: op.site, Type: "camera_offline", Start: op.at, Data: "{}"}); id != 0 {
			open[op.camera] = id
		}
	}
}

func (m *Manager) addEvent(ctx context.Context, e index.Event) int64 {
	id, err := m.deps.Index.AddEvent(ctx, e)
	if err != nil {
		m.deps.Log.Error("store event", "camera", e.Camera, "type", e.Type, "err", err)
	}
	return id
}
