package hls

import (
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
)

// Track IDs in the init block: video first, then AAC (segment.Init numbers
// tracks by position + 1).
const (
	videoTrackID = 1
	audioTrackID = 2
)

// flushPartLocked turns the pending units into a part of the open segment.
// lastDur is the duration of the last pending video sample (the next
// sample's DTS is not known yet, or is the caller's).
func (m *muxer) flushPartLocked(lastDur int64) {
	if len(m.pendV) == 0 || m.cur == nil {
		return
	}
	vRun, vBytes := m.videoRun(lastDur)
	runs := []segment.Run{vRun}
	aBytes := 0
	if len(m.pendA) > 0 {
		var aRun segment.Run
		aRun, aBytes = m.audioRun()
		runs = append(runs, aRun)
	}
	buf := make([]byte, 0, 256+16*len(m.samples)+vBytes+aBytes)
	m.fragSeq++
	buf = segment.AppendFragmentHeader(buf, m.fragSeq, runs)
	for _, au := range m.pendV {
		buf = au.AppendAVCC(buf)
	}
	for _, au := range m.pendA {
		buf = append(buf, au.Payload...)
	}
	first, last := m.pendV[0], m.pendV[len(m.pendV)-1]
	dur := ticks(last.DTS+lastDur-first.DTS, m.sess.vRate)
	m.flushedEnd = m.outVideo(last.DTS) + lastDur
	m.cur.parts = append(m.cur.parts, &part{data: buf, dur: dur, independent: first.Key})
	m.cur.bytes += len(buf)
	m.bytes += len(buf)
	m.maxPart = max(m.maxPart, dur)
	clear(m.pendV)
	clear(m.pendA)
	m.pendV, m.pendA = m.pendV[:0], m.pendA[:0]
	m.pruneLocked()
	m.broadcastLocked()
	if m.firstCut {
		m.firstCut = false
		m.closeSegmentLocked()
	}
}

// videoRun describes the pending video samples; it reuses m.samples.
func (m *muxer) videoRun(lastDur int64) (segment.Run, int) {
	m.samples = m.samples[:0]
	n := 0
	for i, au := range m.pendV {
		d := lastDur
		if i+1 < len(m.pendV) {
			d = m.pendV[i+1].DTS - au.DTS
		}
		size := au.Size()
		n += size
		m.samples = append(m.samples, segment.Sample{Duration: uint32(d), Size: uint32(size),
			CTO: int32(au.PTS - au.DTS), NonSync: !au.Key})
	}
	base := m.outVideo(m.pendV[0].DTS)
	return segment.Run{TrackID: videoTrackID, BaseTime: uint64(max(base, 0)), Samples: m.samples}, n
}

// audioRun describes the pending audio samples, after the video ones in
// m.samples.
func (m *muxer) audioRun() (segment.Run, int) {
	start := len(m.samples)
	n := 0
	for i, au := range m.pendA {
		d := m.sess.lastADur
		if i+1 < len(m.pendA) {
			d = m.pendA[i+1].DTS - au.DTS
		}
		n += len(au.Payload)
		m.samples = append(m.samples, segment.Sample{Duration: uint32(d), Size: uint32(len(au.Payload))})
	}
	base := m.outAudio(m.pendA[0])
	return segment.Run{TrackID: audioTrackID, BaseTime: uint64(max(base, 0)), Samples: m.samples[start:]}, n
}

// outAudio maps an audio DTS to the output timeline: the session's video
// start (in audio units) plus the unit's offset from it.
func (m *muxer) outAudio(au *media.AccessUnit) int64 {
	s := &m.sess
	return m.videoEnd*int64(s.aRate)/int64(s.vRate) + au.DTS - s.aBase
}

// closeSegmentLocked completes the open segment: its parts are joined
// into one buffer (the parts then point into it, so memory is held once).
func (m *muxer) closeSegmentLocked() {
	seg := m.cur
	if seg == nil {
		return
	}
	m.cur = nil
	if len(seg.parts) == 0 {
		m.segs = m.segs[:len(m.segs)-1]
		m.nextMSN--
		m.nextDisc = m.nextDisc || seg.discontinuity
		return
	}
	data := make([]byte, 0, seg.bytes)
	for _, p := range seg.parts {
		off := len(data)
		data = append(data, p.data...)
		p.data = data[off:len(data):len(data)]
		seg.dur += p.dur
	}
	seg.data, seg.complete = data, true
	m.maxSeg = max(m.maxSeg, seg.dur)
	m.pruneLocked()
	m.broadcastLocked()
}

// keptExtra is how many complete segments stay fetchable beyond those the
// playlist lists, for players holding an older playlist.
const keptExtra = 2

// pruneLocked drops the oldest complete segments past the count or byte
// budget. The open segment stays.
func (m *muxer) pruneLocked() {
	for len(m.segs) > 1 && m.segs[0].complete &&
		(m.completeCount() > m.cfg.Segments+keptExtra || m.bytes > m.cfg.MaxBytes) {
		old := m.segs[0]
		m.segs[0] = nil
		m.segs = m.segs[1:]
		m.bytes -= old.bytes
		if old.discontinuity {
			m.discSeq++
		}
	}
}

func (m *muxer) completeCount() int {
	if m.cur != nil {
		return len(m.segs) - 1
	}
	return len(m.segs)
}

// segmentLocked returns the kept segment msn, or nil.
func (m *muxer) segmentLocked(msn uint64) *mediaSegment {
	if len(m.segs) == 0 || msn < m.segs[0].msn {
		return nil
	}
	i := msn - m.segs[0].msn
	if i >= uint64(len(m.segs)) {
		return nil
	}
	return m.segs[i]
}

// haveLocked reports whether part (or, when part < 0, the whole segment)
// msn exists or was passed. A part index past the last part of a complete
// segment means part 0 of the next one (RFC 8216bis, 6.2.5.2).
func (m *muxer) haveLocked(msn uint64, part int) bool {
	if s := m.segmentLocked(msn); part >= 0 && s != nil && s.complete && part >= len(s.parts) {
		msn, part = msn+1, 0
	}
	if m.cur != nil && msn == m.cur.msn {
		return part >= 0 && part < len(m.cur.parts)
	}
	return msn < m.nextMSN
}

// lastMSNLocked is the media sequence number of the playlist's last
// segment (open or complete); ok is false before the first.
func (m *muxer) lastMSNLocked() (uint64, bool) {
	if m.nextMSN == 0 {
		return 0, false
	}
	return m.nextMSN - 1, true
}

// readyLocked reports whether a player can start: one complete segment.
func (m *muxer) readyLocked() bool {
	return len(m.segs) > 1 || (len(m.segs) == 1 && m.segs[0].complete)
}

// targetDuration is the playlist's EXT-X-TARGETDURATION in seconds.
func (m *muxer) targetDuration() int {
	td := int((m.cfg.SegmentDuration + time.Second - 1) / time.Second)
	return max(td, int((m.maxSeg+time.Second/2)/time.Second), 1)
}

// partTarget is the playlist's PART-TARGET.
func (m *muxer) partTarget() time.Duration {
	return max(m.cfg.PartDuration, m.maxPart)
}
