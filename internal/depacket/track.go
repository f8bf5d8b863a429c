package depacket

import (
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// unit is a codec's output before the session stamps it.
type unit struct {
	pts, dts int64
	key      bool
	nalus    [][]byte // video
	payload  []byte   // audio
}

// codec decodes one track's packets. Implementations are not safe for
// concurrent use; trackState serialises them.
type codec interface {
	// decode consumes pkt, whose PTS is pts, and hands every completed
	// unit to st.emit.
	decode(st *trackState, pkt *rtp.Packet, pts int64)
}

// trackState is one track of a Session.
type trackState struct {
	s     *Session
	id    int
	medi  *description.Media
	codec codec

	decMu sync.Mutex // serialises codec.decode

	// guarded by s.mu
	ready   bool // video: parameter sets known
	lastDTS int64
	hasLast bool
}

func (st *trackState) handle(pkt *rtp.Packet, pts int64) {
	st.decMu.Lock()
	defer st.decMu.Unlock()
	st.codec.decode(st, pkt, pts)
}

// clockRate returns the track's clock rate.
func (st *trackState) clockRate() int {
	st.s.mu.Lock()
	defer st.s.mu.Unlock()
	return st.s.tracks[st.id].ClockRate
}

// drop counts a unit that could not be delivered.
func (st *trackState) drop() { st.s.dropped.Add(1) }

// warn logs a rate-limited warning about this track.
func (st *trackState) warn(kind, msg string, err error) {
	st.s.logs.warn(kind, msg, "track", st.id, "error", err)
}

// updateTrack applies fn to the track; when it reports a change the next
// unit starts a new publish session.
func (st *trackState) updateTrack(fn func(t *media.Track) bool) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn(&s.tracks[st.id]) {
		st.ready = hasParams(s.tracks[st.id])
		if s.begun {
			s.restart = true
		}
	}
}

// fail ends the session with err.
func (st *trackState) fail(err error) {
	s := st.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed {
		return
	}
	s.failed = true
	s.sink.Fail(err)
}

// emit stamps u with its wall-clock time and delivers it. pkt is the packet
// that completed u and pktPTS its PTS (u.pts may belong to an earlier
// packet).
func (st *trackState) emit(u unit, pkt *rtp.Packet, pktPTS int64) {
	rate := st.clockRate()
	if rate <= 0 {
		st.drop()
		return
	}
	ntp, ntpOK := st.s.timing.PacketNTP(st.medi, pkt)
	if ntpOK {
		ntp = ntp.Add(ticksToDuration(u.pts-pktPTS, rate))
	}
	st.s.deliver(st, u, rate, ntp, ntpOK)
}

// deliver runs under the session lock: it gates on readiness, anchors the
// wall clock, restarts the publish session when needed, and calls the Sink.
func (s *Session) deliver(st *trackState, u unit, rate int, ntp time.Time, ntpOK bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed || !s.allReady() {
		s.dropped.Add(1)
		return
	}
	now := s.opts.Now()
	wall, jumped, skew := s.clock.wall(ticksToDuration(u.pts, rate), ntp, ntpOK, now)
	if jumped {
		s.logs.warn("clock", "timestamps jumped away from the arrival clock, re-anchoring",
			"track", st.id, "skew", skew.Round(time.Millisecond))
		s.restart = s.begun
	}
	if skew != 0 && !jumped {
		s.logs.info("ntp", "ignoring the sender's RTCP clock, too far from the local clock",
			"skew", skew.Round(time.Second))
	}
	if st.hasLast && u.dts <= st.lastDTS {
		u.dts = st.fixDTS(s, u, rate)
	}
	s.beginIfNeeded()
	st.lastDTS, st.hasLast = u.dts, true
	s.units.Add(1)
	s.sink.Unit(&media.AccessUnit{
		Track: st.id, PTS: u.pts, DTS: u.dts, Wall: wall, Key: u.key, NALUs: u.nalus, Payload: u.payload,
	})
}

// fixDTS handles a DTS that does not advance: a small step back (a DTS
// extractor restarted after packet loss) is nudged forward; a real jump
// back starts a new publish session. It runs under the session lock.
func (st *trackState) fixDTS(s *Session, u unit, rate int) int64 {
	if st.lastDTS-u.dts < int64(rate) && st.lastDTS+1 <= u.pts {
		return st.lastDTS + 1
	}
	if u.dts < st.lastDTS {
		s.logs.warn("dts", "timestamps went backwards, starting a new session",
			"track", st.id, "dts", u.dts, "previous", st.lastDTS)
		s.restart = true
	}
	return u.dts
}

func (s *Session) allReady() bool {
	for _, st := range s.states {
		if !st.ready {
			return false
		}
	}
	return true
}

func (s *Session) beginIfNeeded() {
	if s.begun && !s.restart {
		return
	}
	if s.begun {
		s.restarts.Add(1)
	}
	s.begun, s.restart = true, false
	for _, st := range s.states {
		st.hasLast = false
	}
	s.sink.Tracks(cloneTracks(s.tracks))
}

// ticksToDuration converts ticks of a clock rate to a duration without
// overflowing for any realistic timestamp.
func ticksToDuration(ticks int64, rate int) time.Duration {
	r := int64(rate)
	sec := ticks / r
	rem := ticks % r
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(r)
}
