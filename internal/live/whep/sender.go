package whep

import (
	"math/rand/v2"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/vigil-video/vigil/internal/media"
)

// rtpPayloadMTU is the RTP payload budget per packet, below typical path
// MTUs once SRTP, UDP, IP and TURN overheads are added.
const rtpPayloadMTU = 1200

// Clamps for the RTP timestamp step into live playback after a squeezed
// GOP replay or a new publish session (90 kHz).
const (
	replayStep  = 90    // 1 ms between replayed frames
	minLiveStep = 900   // 10 ms
	maxLiveStep = 45000 // 500 ms
)

// sender turns access units into RTP packets on the session's tracks.
//
// Video RTP timestamps follow the units' PTS. The stream's kept GOP, sent
// when the viewer starts, gets timestamps 1 ms apart: the browser decodes
// it at once and shows the newest picture instead of replaying the last
// seconds in slow motion, and live units then follow at their own pace.
type sender struct {
	vt, at rtpWriter
	vpay   codecs.H264Payloader

	vseq, aseq uint16
	vts        uint32 // last video timestamp sent
	voff       int64  // live video: rtp = pts + voff
	vlive      bool   // voff is set
	vstarted   bool   // something was sent
	lastDTS    int64
	needKey    bool
	aoff       int64
	alive      bool
	annexb     []byte
}

// rtpWriter is where packets go (*webrtc.TrackLocalStaticRTP).
type rtpWriter interface {
	WriteRTP(p *rtp.Packet) error
}

var _ rtpWriter = (*webrtc.TrackLocalStaticRTP)(nil)

func newSender(vt, at rtpWriter) *sender {
	return &sender{
		vt: vt, at: at, needKey: true,
		vseq: uint16(rand.Uint32()), aseq: uint16(rand.Uint32()), vts: rand.Uint32(),
	}
}

// restart waits for a keyframe and re-anchors timestamps: a new publish
// session has a new PTS origin.
func (s *sender) restart() {
	s.needKey = true
	s.vlive = false
	s.alive = false
}

// video sends one video unit; sent is false when it was skipped (waiting
// for a keyframe).
func (s *sender) video(au *media.AccessUnit, replayed bool) (sent bool, err error) {
	if s.needKey && !au.Key {
		return false, nil
	}
	s.needKey = false
	ts := s.videoTimestamp(au, replayed)
	s.annexb = s.annexb[:0]
	for _, n := range au.NALUs {
		s.annexb = append(s.annexb, 0, 0, 0, 1)
		s.annexb = append(s.annexb, n...)
	}
	payloads := s.vpay.Payload(rtpPayloadMTU, s.annexb)
	for i, p := range payloads {
		pkt := &rtp.Packet{
			Header: rtp.Header{
				Version: 2, Marker: i == len(payloads)-1, SequenceNumber: s.vseq, Timestamp: ts,
			},
			Payload: p,
		}
		s.vseq++
		if err := s.vt.WriteRTP(pkt); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (s *sender) videoTimestamp(au *media.AccessUnit, replayed bool) uint32 {
	defer func() { s.lastDTS, s.vstarted = au.DTS, true }()
	switch {
	case !s.vstarted:
		// the first unit keeps the random initial timestamp
	case replayed:
		s.vts += replayStep
		s.vlive = false
		return s.vts
	case !s.vlive:
		s.vts += uint32(min(max(au.DTS-s.lastDTS, minLiveStep), maxLiveStep))
	default:
		s.vts = uint32(au.PTS + s.voff)
		return s.vts
	}
	if !replayed {
		s.voff, s.vlive = int64(s.vts)-au.PTS, true
	}
	return s.vts
}

// audio sends one Opus packet. Audio waits for video to be live: the
// replayed GOP's audio would only be a burst of stale sound.
func (s *sender) audio(au *media.AccessUnit, replayed bool) error {
	if s.at == nil || replayed || !s.vlive {
		return nil
	}
	if !s.alive {
		s.aoff, s.alive = int64(rand.Uint32())-au.PTS, true
	}
	pkt := &rtp.Packet{
		Header:  rtp.Header{Version: 2, SequenceNumber: s.aseq, Timestamp: uint32(au.PTS + s.aoff)},
		Payload: au.Payload,
	}
	s.aseq++
	return s.at.WriteRTP(pkt)
}
