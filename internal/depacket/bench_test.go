package depacket

import (
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// countSink counts units without keeping them.
type countSink struct{ units int }

func (c *countSink) Tracks([]media.Track)   {}
func (c *countSink) Unit(*media.AccessUnit) { c.units++ }
func (c *countSink) Fail(error)             {}

// BenchmarkDepacketH264 measures one frame (all its packets) through the
// depacketiser; allocs/op are per frame.
func BenchmarkDepacketH264(b *testing.B) {
	fx := loadFixture(b, "testdata/h264_bframes.mp4")
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 1400}
	if err := enc.Init(); err != nil {
		b.Fatal(err)
	}
	// one long run of frames: the fixture repeated with growing timestamps
	var pkts [][]*rtp.Packet
	for loop := range 20 {
		for _, f := range fx.frames {
			ps, err := enc.Encode(f.nalus)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range ps {
				p.Timestamp = uint32(int64(loop)*30*3600 + f.pts)
			}
			pkts = append(pkts, ps)
		}
	}
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: fx.sps, PPS: fx.pps}
	sink := &countSink{}
	s, medi := videoSession(b, forma, sink, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%len(pkts) == 0 { // restart cleanly at each pass
			b.StopTimer()
			s, medi = videoSession(b, forma, sink, Options{})
			b.StartTimer()
		}
		for _, p := range pkts[i%len(pkts)] {
			s.HandleRTP(medi, forma, p)
		}
	}
}
