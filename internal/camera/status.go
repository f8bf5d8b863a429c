package camera

import "time"

// Status states.
const (
	StateOnline  = "online"
	StateOffline = "offline" // has a source (or a gateway) that is not delivering
	StateWaiting = "waiting" // no source: waiting for a push
	StateUnknown = "unknown"
)

// Status is a camera's live status.
type Status struct {
	State     string
	FPS       float64
	Bitrate   float64 // bits per second
	LastFrame time.Time
	Error     string // why the source is failing (no secrets)
	Recording bool
	// DroppedFrames counts video frames the recorder could not keep.
	DroppedFrames int64
	// ReaderDrops counts units slow live readers dropped (their own loss).
	ReaderDrops uint64
	Readers     int
}

// Status returns camera id's live status.
func (m *Manager) Status(id string) Status {
	m.mu.Lock()
	c := m.cams[id]
	m.mu.Unlock()
	if c == nil {
		return Status{State: StateUnknown}
	}
	st := c.st.Stats()
	s := Status{FPS: st.FPS, Bitrate: st.Bitrate, LastFrame: st.LastFrame, Recording: c.rec != nil, Readers: st.Readers, ReaderDrops: st.ReaderDrops}
	if c.rec != nil {
		s.DroppedFrames = c.rec.Stats().DroppedFrames.Load()
	}
	switch {
	case st.Publishing:
		s.State = StateOnline
	case c.conf.Source == "":
		s.State = StateWaiting
	default:
		s.State = StateOffline
	}
	c.srcMu.Lock()
	if c.srcErr != nil && !st.Publishing {
		s.Error = c.srcErr.Error()
	}
	c.srcMu.Unlock()
	if c.remote {
		// the gateway records it (uploads its fragments); live needs its push
		s.Recording = c.conf.Record
		if !st.Publishing {
			s.Error = "no live push from the site's gateway"
		}
	}
	return s
}

// IDs returns the ids of the running cameras.
func (m *Manager) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.cams))
	for id := range m.cams {
		ids = append(ids, id)
	}
	return ids
}
