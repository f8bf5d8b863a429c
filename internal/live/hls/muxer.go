package hls

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
)

// initBlock is one publish session's init (ftyp+moov).
type initBlock struct {
	id   int
	data []byte
}

// part is one LL-HLS part: one moof+mdat.
type part struct {
	data        []byte
	dur         time.Duration
	independent bool // starts with a video keyframe
}

// mediaSegment is a segment: its parts, joined into data once complete.
type mediaSegment struct {
	msn           uint64
	init          *initBlock
	discontinuity bool
	wall          time.Time // wall time of its first video unit (zero: unknown)
	start         int64     // output decode time of its first video sample
	key           bool      // starts with a keyframe
	parts         []*part
	bytes         int
	dur           time.Duration
	complete      bool
	data          []byte // set once complete
}

// muxer is one camera's live HLS muxer. Its Begin/Write/End run on the
// publisher's goroutine under the stream lock: they only append to memory
// under mu and never block. Requests read under mu and wait on changed.
type muxer struct {
	cfg Config
	log *slog.Logger
	use atomic.Int64 // unix nanos of the last request

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	closed  bool

	// session: tracks, timestamp bases
	sess session
	// begun is true while a publisher is attached (Begin without End):
	// until then a playlist request waits for one (a transcode starting).
	begun bool
	init  *initBlock
	inits int // init blocks made so far
	// videoEnd is the output decode time where the last session's video
	// ended: the next session continues from it. flushedEnd is where the
	// last flushed part's video ends.
	videoEnd, flushedEnd int64
	nextDisc             bool // the next segment follows a discontinuity
	firstCut             bool // close the open segment at its next part

	// the part being built: units waiting for the next part cut
	pendV, pendA []*media.AccessUnit
	samples      []segment.Sample // scratch for fragment headers
	fragSeq      uint32

	segs     []*mediaSegment // kept segments, oldest first; the last may be open
	cur      *mediaSegment   // the open segment, or nil
	nextMSN  uint64
	discSeq  uint64 // discontinuities of segments removed from memory
	bytes    int    // media bytes held
	maxSeg   time.Duration
	maxPart  time.Duration
	playlist []byte // rendered playlist, nil when stale
}

// session is what the muxer knows about the current publish session.
type session struct {
	video, audio int // stream track IDs, -1 when absent
	vRate, aRate int
	started      bool // first video keyframe seen
	vBase        int64
	wallStart    time.Time
	aBaseSet     bool
	aBase        int64
	lastVDur     int64 // last video sample duration (ticks)
	lastADur     int64
	lastADTS     int64
}

func newMuxer(cfg Config, log *slog.Logger) *muxer {
	return &muxer{cfg: cfg, log: log, changed: make(chan struct{}), sess: session{video: -1, audio: -1}}
}

func (m *muxer) touch()             { m.use.Store(time.Now().UnixNano()) }
func (m *muxer) lastUse() time.Time { return time.Unix(0, m.use.Load()) }

// broadcastLocked wakes every waiting request and drops the cached playlist.
func (m *muxer) broadcastLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
	m.playlist = nil
}

// Begin starts a publish session: a new init block; the next segment
// follows a discontinuity when segments exist already.
func (m *muxer) Begin(tracks []media.Track) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endSessionLocked()
	m.begun = true
	out, sess := pickTracks(tracks)
	if sess.video < 0 {
		m.log.Warn("live hls: stream has no H.264/H.265 video; nothing to serve")
		return
	}
	data, err := segment.Init(out)
	if err != nil {
		m.log.Warn("live hls: cannot build init block", "error", err)
		return
	}
	m.inits++
	m.init = &initBlock{id: m.inits, data: data}
	m.sess = sess
	m.nextDisc = len(m.segs) > 0
	m.broadcastLocked()
}

// pickTracks chooses the first video track and the first AAC track (other
// audio codecs are dropped from live HLS, see the package doc) and returns
// them as the init block's tracks.
func pickTracks(tracks []media.Track) ([]media.Track, session) {
	sess := session{video: -1, audio: -1}
	var out []media.Track
	for _, t := range tracks {
		if sess.video < 0 && (t.Codec == media.CodecH264 || t.Codec == media.CodecH265) && t.ClockRate > 0 {
			sess.video, sess.vRate = t.ID, t.ClockRate
			out = append([]media.Track{t}, out...)
		}
	}
	for _, t := range tracks {
		if sess.audio < 0 && t.Codec == media.CodecAAC && t.ClockRate > 0 && sess.video >= 0 {
			sess.audio, sess.aRate = t.ID, t.ClockRate
			out = append(out, t)
		}
	}
	return out, sess
}

// End ends the publish session: the open segment is completed.
func (m *muxer) End() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endSessionLocked()
	m.begun = false
	m.sess = session{video: -1, audio: -1}
	m.broadcastLocked()
}

// endSessionLocked completes the open segment and moves the output
// timeline past it, so the next session continues after a discontinuity.
func (m *muxer) endSessionLocked() {
	if !m.sess.started {
		return
	}
	m.flushPartLocked(m.lastVDurLocked())
	m.closeSegmentLocked()
	m.videoEnd = m.flushedEnd
	m.sess.started = false
	m.nextDisc = true
}

// Write adds one unit. Video units before the session's first keyframe
// and audio before the first video are dropped.
func (m *muxer) Write(au *media.AccessUnit) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch au.Track {
	case m.sess.video:
		if m.sess.video >= 0 {
			m.writeVideoLocked(au)
		}
	case m.sess.audio:
		if m.sess.audio >= 0 {
			m.writeAudioLocked(au)
		}
	}
}

// maxJump is the largest decode-time step taken as continuous; a larger
// one, or a step back, restarts the timeline with a discontinuity.
const maxJump = 10 * time.Second

func (m *muxer) writeVideoLocked(au *media.AccessUnit) {
	s := &m.sess
	if s.started && len(m.pendV) > 0 {
		d := au.DTS - m.pendV[len(m.pendV)-1].DTS
		if d <= 0 || d > int64(maxJump/time.Second)*int64(s.vRate) {
			m.log.Warn("live hls: video clock jump, starting over", "step", d)
			m.endSessionLocked()
		} else {
			s.lastVDur = d
			m.cutBeforeLocked(au, d)
		}
	}
	if !s.started {
		if !au.Key {
			return
		}
		s.started, s.vBase, s.wallStart, s.aBaseSet = true, au.DTS, au.Wall, false
	}
	if m.cur == nil {
		m.openSegmentLocked(au)
	}
	m.pendV = append(m.pendV, au)
}

// cutBeforeLocked completes the pending part (and the segment) when au,
// of estimated duration d, must start a new one.
func (m *muxer) cutBeforeLocked(au *media.AccessUnit, d int64) {
	first := m.pendV[0].DTS
	segStart := m.cur.start
	out := m.outVideo(au.DTS)
	// A segment that did not start on a keyframe (the first one, cut out of
	// the kept GOP, or a forced cut) ends at the next keyframe.
	cutSeg := au.Key && (!m.cur.key || ticks(out-segStart, m.sess.vRate) >= m.cfg.SegmentDuration)
	cutSeg = cutSeg || m.forceCutLocked(out-segStart)
	partFull := ticks(au.DTS+d-first, m.sess.vRate) > m.cfg.PartDuration
	if !cutSeg && !au.Key && !partFull {
		return
	}
	m.flushPartLocked(d)
	if cutSeg {
		m.closeSegmentLocked()
	}
}

// forceCutLocked bounds a segment that never meets a keyframe: past 5
// target durations or a quarter of the byte budget it is cut anyway.
func (m *muxer) forceCutLocked(elapsed int64) bool {
	return ticks(elapsed, m.sess.vRate) >= 5*m.cfg.SegmentDuration || m.cur.bytes > m.cfg.MaxBytes/4
}

// outVideo maps a video DTS of this session to the output timeline.
func (m *muxer) outVideo(dts int64) int64 { return m.videoEnd + dts - m.sess.vBase }

func (m *muxer) writeAudioLocked(au *media.AccessUnit) {
	s := &m.sess
	if !s.started || m.cur == nil || len(m.pendA) >= maxPendingAudio {
		return
	}
	if !s.aBaseSet {
		off := au.Wall.Sub(s.wallStart)
		if off < 0 {
			return
		}
		s.aBase = au.DTS - int64(off)*int64(s.aRate)/int64(time.Second)
		s.aBaseSet, s.lastADur, s.lastADTS = true, 1024, au.DTS-1
	}
	if au.DTS <= s.lastADTS {
		return
	}
	if len(m.pendA) > 0 {
		s.lastADur = au.DTS - s.lastADTS
	}
	s.lastADTS = au.DTS
	m.pendA = append(m.pendA, au)
}

// maxPendingAudio bounds audio waiting for video (a stalled video track).
const maxPendingAudio = 256

func (m *muxer) openSegmentLocked(au *media.AccessUnit) {
	m.cur = &mediaSegment{msn: m.nextMSN, init: m.init, discontinuity: m.nextDisc,
		wall: au.Wall, start: m.outVideo(au.DTS), key: au.Key}
	m.nextMSN++
	m.nextDisc = false
	m.segs = append(m.segs, m.cur)
}

// endReplay runs after AddReader replayed the kept GOP: the first segment
// is completed at once out of it, so a player can start right away. With
// no GOP yet, or a GOP of one frame whose duration is not known yet, the
// first segment completes at its first part (a guessed duration would
// leave a hole or an overlap before the next frame, where players stall).
func (m *muxer) endReplay() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pendV) == 0 || m.sess.lastVDur <= 0 {
		m.firstCut = true
		return
	}
	m.flushPartLocked(m.lastVDurLocked())
	m.closeSegmentLocked()
}

// lastVDurLocked estimates the duration of the last video sample, whose
// successor has not come: the previous sample's, else 1/25 s.
func (m *muxer) lastVDurLocked() int64 {
	if m.sess.lastVDur > 0 {
		return m.sess.lastVDur
	}
	return int64(m.sess.vRate) / 25
}

// close marks the muxer stopped and wakes its waiting requests.
func (m *muxer) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.broadcastLocked()
}

func ticks(n int64, rate int) time.Duration {
	if rate <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second / time.Duration(rate)
}
