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

// maxEventBatch bounds the status changes written in one transaction.
const maxEventBatch = 1000

// runEvents writes status events to the index. An offline event stays open
// until the camera is back, so its start and end bound the outage. Status
// changes queued together (a site's cameras dropping at once, every camera
// connecting after a restart) are written in one transaction.
func (m *Manager) runEvents() {
	open := map[string]int64{}
	for op := range m.events {
		batch := []eventOp{op}
	drain:
		for len(batch) < maxEventBatch {
			select {
			case op, ok := <-m.events:
				if !ok {
					break drain
				}
				batch = append(batch, op)
			default:
				break drain
			}
		}
		m.writeEvents(batch, open)
	}
}

// writeEvents writes a batch of status changes; open holds the ids of
// the stored offline events still ongoing, by camera.
func (m *Manager) writeEvents(batch []eventOp, open map[string]int64) {
	var ends []index.EventEnd
	var adds []index.Event
	pending := map[string]int{} // camera -> its offline event in adds
	for _, op := range batch {
		if op.online {
			if id, ok := open[op.camera]; ok {
				ends = append(ends, index.EventEnd{ID: id, End: op.at})
				delete(open, op.camera)
			}
			if k, ok := pending[op.camera]; ok {
				adds[k].End = op.at
				delete(pending, op.camera)
			}
			adds = append(adds, index.Event{Camera: op.camera, Site: op.site, Type: "camera_online", Start: op.at, Data: "{}"})
			continue
		}
		pending[op.camera] = len(adds)
		adds = append(adds, index.Event{Camera: op.camera, Site: op.site, Type: "camera_offline", Start: op.at, Data: "{}"})
	}
	ids, err := m.deps.Index.WriteEvents(context.Background(), ends, adds)
	if err != nil {
		m.deps.Log.Error("store camera status events", "events", len(adds), "err", err)
		return
	}
	for camera, k := range pending {
		open[camera] = ids[k]
	}
}
