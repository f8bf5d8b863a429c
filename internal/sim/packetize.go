package sim

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
)

const (
	// maxPayload bounds RTP payloads, leaving room for headers and tunnels.
	maxPayload  = 1400
	payloadType = 96
)

type rtpPacket = rtp.Packet

// packetFrame is one frame as RTP payloads; the last one carries the marker.
type packetFrame struct {
	pts, dts int64
	key      bool
	payloads [][]byte
	size     int // sum of payload sizes
}

// packetizedClip is a clip cut into RTP payloads once, shared by every
// camera and stream.
type packetizedClip struct {
	frames   []packetFrame
	duration int64
}

// packetize cuts every frame of c into RTP payloads of at most max bytes.
// Keyframes are sent with the SPS and PPS in band.
func packetize(c *Clip, max int) (*packetizedClip, error) {
	if len(c.Frames) == 0 {
		return nil, errNoFrames
	}
	enc := &rtph264.Encoder{PayloadType: payloadType, PayloadMaxSize: max, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		return nil, fmt.Errorf("rtp encoder: %w", err)
	}
	p := &packetizedClip{duration: c.Duration, frames: make([]packetFrame, len(c.Frames))}
	for i, f := range c.Frames {
		au := withParams(f, c.SPS, c.PPS)
		pkts, err := enc.Encode(au)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
		pf := packetFrame{pts: f.PTS, dts: f.DTS, key: f.Key}
		for _, pkt := range pkts {
			pf.payloads = append(pf.payloads, pkt.Payload)
			pf.size += len(pkt.Payload)
		}
		p.frames[i] = pf
	}
	return p, nil
}

// withParams returns a keyframe's NAL units with SPS and PPS first unless
// it already carries them.
func withParams(f Frame, sps, pps []byte) [][]byte {
	if !f.Key {
		return f.NALUs
	}
	for _, n := range f.NALUs {
		if len(n) > 0 && h264.NALUType(n[0]&0x1f) == h264.NALUTypeSPS {
			return f.NALUs
		}
	}
	return append([][]byte{sps, pps}, f.NALUs...)
}

// rtpSender numbers one camera's packets.
type rtpSender struct {
	seq    uint16
	tsBase uint32
	pkt    rtp.Packet
}

func (s *rtpSender) init() {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s.seq = binary.BigEndian.Uint16(b[0:2])
	s.tsBase = binary.BigEndian.Uint32(b[2:6])
	s.pkt.Header = rtp.Header{Version: 2, PayloadType: payloadType}
}

// skip advances the sequence numbers as if f was sent.
func (s *rtpSender) skip(f *packetFrame) { s.seq += uint16(len(f.payloads)) }

// send writes f's packets with timestamp pts (ClockRate units).
func (s *rtpSender) send(f *packetFrame, pts int64, write func(*rtpPacket) error) {
	ts := s.tsBase + uint32(pts)
	for i, pl := range f.payloads {
		s.pkt.SequenceNumber = s.seq
		s.pkt.Timestamp = ts
		s.pkt.Marker = i == len(f.payloads)-1
		s.pkt.Payload = pl
		s.seq++
		if write(&s.pkt) != nil {
			s.seq += uint16(len(f.payloads) - i - 1)
			return
		}
	}
}

// frameDuration is the nominal time between two frames.
func (p *packetizedClip) frameDuration() time.Duration {
	return ticks(p.duration / int64(len(p.frames)))
}

// gopDuration is the time between the clip's first two keyframes (the
// whole clip when it has one).
func (p *packetizedClip) gopDuration() time.Duration {
	first := -1
	for i, f := range p.frames {
		if !f.key {
			continue
		}
		if first >= 0 {
			return ticks(f.dts - p.frames[first].dts)
		}
		first = i
	}
	return ticks(p.duration)
}
