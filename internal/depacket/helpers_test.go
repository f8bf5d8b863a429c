package depacket

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/pmp4"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/testutil"
)

// fakeTiming derives PTS from the RTP timestamp (first packet = 0) and
// optionally reports an NTP time.
type fakeTiming struct {
	mu   sync.Mutex
	base map[*description.Media]uint32
	ntp  func(pts int64) (time.Time, bool)
	// origin, when set, is the RTP timestamp of PTS 0 for every media.
	origin *uint32
}

func (f *fakeTiming) PacketPTS(medi *description.Media, pkt *rtp.Packet) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.base == nil {
		f.base = map[*description.Media]uint32{}
	}
	b, ok := f.base[medi]
	if f.origin != nil {
		b, ok = *f.origin, true
	}
	if !ok {
		b = pkt.Timestamp
		f.base[medi] = b
	}
	return int64(int32(pkt.Timestamp - b)), true
}

func (f *fakeTiming) PacketNTP(medi *description.Media, pkt *rtp.Packet) (time.Time, bool) {
	if f.ntp == nil {
		return time.Time{}, false
	}
	pts, _ := f.PacketPTS(medi, pkt)
	return f.ntp(pts)
}

// recorder is a Sink that keeps everything.
type recorder struct {
	mu     sync.Mutex
	tracks [][]media.Track
	units  []*media.AccessUnit
	fails  []error
}

func (r *recorder) Tracks(t []media.Track) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tracks = append(r.tracks, t)
}

func (r *recorder) Unit(au *media.AccessUnit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.units = append(r.units, au)
}

func (r *recorder) Fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails = append(r.fails, err)
}

// testFrame is one access unit of a fixture, in decoding order.
type testFrame struct {
	pts   int64 // 90 kHz
	key   bool
	nalus [][]byte
}

// fixture is a video clip loaded from testdata.
type fixture struct {
	vps, sps, pps []byte
	frames        []testFrame
}

// loadFixture reads an MP4 fixture (H.264 or H.265) into frames.
func loadFixture(t testing.TB, path string) fixture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p pmp4.Presentation
	if err := p.Unmarshal(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	tr := p.Tracks[0]
	var fx fixture
	switch c := tr.Codec.(type) {
	case *mp4.CodecH264:
		fx.sps, fx.pps = c.SPS, c.PPS
	case *mp4.CodecH265:
		fx.vps, fx.sps, fx.pps = c.VPS, c.SPS, c.PPS
	default:
		t.Fatalf("unexpected codec %T", c)
	}
	var dts int64
	for _, s := range tr.Samples {
		payload, err := s.GetPayload()
		if err != nil {
			t.Fatal(err)
		}
		var au h264.AVCC
		if err := au.Unmarshal(payload); err != nil {
			t.Fatal(err)
		}
		pts := (dts + int64(s.PTSOffset)) * 90000 / int64(tr.TimeScale)
		fx.frames = append(fx.frames, testFrame{pts: pts, key: !s.IsNonSyncSample, nalus: au})
		dts += int64(s.Duration)
	}
	return fx
}

// rtpOrigin is the RTP timestamp of PTS 0 in video tests; close to the
// 32-bit limit so that timestamps wrap around.
const rtpOrigin = 0xfffff000

// encoder turns access units into RTP packets.
type encoder interface {
	Encode(au [][]byte) ([]*rtp.Packet, error)
}

// packetizeFrames encodes frames into packets with RTP timestamp
// base+pts.
func packetizeFrames(t testing.TB, enc encoder, frames []testFrame, base uint32) []*rtp.Packet {
	t.Helper()
	var out []*rtp.Packet
	seq := uint16(1000)
	for _, f := range frames {
		pkts, err := enc.Encode(f.nalus)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			p.Timestamp = base + uint32(f.pts)
			p.SequenceNumber = seq
			seq++
			out = append(out, p)
		}
	}
	return out
}

// videoSession builds a Session over one video format.
func videoSession(t testing.TB, forma format.Format, sink Sink, opts Options) (*Session, *description.Media) {
	t.Helper()
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	origin := uint32(rtpOrigin)
	s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{origin: &origin}, sink, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, medi
}

// splitAVCC returns the NAL units of an AVCC payload.
func splitAVCC(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("truncated AVCC length")
		}
		n := int(binary.BigEndian.Uint32(b))
		if n == 0 || 4+n > len(b) {
			t.Fatalf("bad AVCC length %d of %d", n, len(b)-4)
		}
		out = append(out, b[4:4+n])
		b = b[4+n:]
	}
	return out
}

// makeSPS returns a baseline H.264 SPS NAL unit for a picture of
// mbW x mbH macroblocks.
func makeSPS(mbW, mbH uint) []byte { return testutil.H264SPS(mbW, mbH) }
