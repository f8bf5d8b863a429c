package hls

import (
	"strconv"
	"time"
)

// playlistLocked returns the media playlist, rendered once per change.
func (m *muxer) playlistLocked() []byte {
	if m.playlist == nil {
		m.playlist = m.renderLocked(make([]byte, 0, 2048))
	}
	return m.playlist
}

// renderLocked appends the LL-HLS media playlist: the last cfg.Segments
// complete segments, the open one, parts of the segments of the last three
// target durations, and a preload hint for the next part.
func (m *muxer) renderLocked(b []byte) []byte {
	td := m.targetDuration()
	pt := m.partTarget()
	list := m.segs[max(0, m.completeCount()-m.cfg.Segments):]
	disc := m.discSeq
	for _, s := range m.segs[:len(m.segs)-len(list)] {
		if s.discontinuity {
			disc++
		}
	}
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(td), 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = appendSeconds(b, 3*pt)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSeconds(b, pt)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, m.firstMSN(list), 10)
	if disc > 0 {
		b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
		b = strconv.AppendUint(b, disc, 10)
	}
	b = append(b, '\n')
	partsFrom := m.partsFrom(list, time.Duration(3*td)*time.Second)
	var init *initBlock
	for i, s := range list {
		if len(s.parts) == 0 {
			continue // an open segment without parts yet
		}
		if s.discontinuity && i > 0 {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if s.init != init {
			init = s.init
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(appendURI(b, fileRef{kind: fileInit, a: uint64(init.id)}), "\"\n"...)
		}
		b = m.appendSegment(b, s, i >= partsFrom)
	}
	return m.appendHint(b, list)
}

// firstMSN is the media sequence number of the first listed segment.
func (m *muxer) firstMSN(list []*mediaSegment) uint64 {
	if len(list) > 0 {
		return list[0].msn
	}
	return m.nextMSN
}

// partsFrom returns the index in list of the first segment whose parts
// are listed: those ending within window of the playlist's end.
func (m *muxer) partsFrom(list []*mediaSegment, window time.Duration) int {
	var d time.Duration
	for i := len(list) - 1; i >= 0; i-- {
		if d >= window {
			return i + 1
		}
		d += list[i].dur
		if !list[i].complete {
			for _, p := range list[i].parts {
				d += p.dur
			}
		}
	}
	return 0
}

func (m *muxer) appendSegment(b []byte, s *mediaSegment, parts bool) []byte {
	if !s.wall.IsZero() {
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = s.wall.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
		b = append(b, '\n')
	}
	if parts || !s.complete {
		for i, p := range s.parts {
			b = append(b, "#EXT-X-PART:DURATION="...)
			b = appendSeconds(b, p.dur)
			b = append(b, ",URI=\""...)
			b = appendURI(b, fileRef{kind: filePart, a: s.msn, b: uint64(i)})
			b = append(b, '"')
			if p.independent {
				b = append(b, ",INDEPENDENT=YES"...)
			}
			b = append(b, '\n')
		}
	}
	if !s.complete {
		return b
	}
	b = append(b, "#EXTINF:"...)
	b = appendSeconds(b, s.dur)
	b = append(b, ",\n"...)
	b = appendURI(b, fileRef{kind: fileSegment, a: s.msn})
	return append(b, '\n')
}

// appendHint adds the preload hint of the next part: the open segment's
// next part, or the first part of the next segment.
func (m *muxer) appendHint(b []byte, list []*mediaSegment) []byte {
	if m.sess.video < 0 || len(list) == 0 {
		return b
	}
	next := fileRef{kind: filePart, a: m.nextMSN}
	if m.cur != nil {
		next = fileRef{kind: filePart, a: m.cur.msn, b: uint64(len(m.cur.parts))}
	}
	b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
	b = appendURI(b, next)
	return append(b, "\"\n"...)
}

// appendSeconds appends d in seconds with three decimals.
func appendSeconds(b []byte, d time.Duration) []byte {
	ms := d.Milliseconds()
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, '.')
	frac := ms % 1000
	if frac < 100 {
		b = append(b, '0')
	}
	if frac < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, frac, 10)
}

// appendURI appends ref's URI relative to the playlist
// (.../cameras/{id}/live.m3u8 -> .../cameras/{id}/live/FILE).
func appendURI(b []byte, ref fileRef) []byte {
	return fileName(append(b, "live/"...), ref)
}
