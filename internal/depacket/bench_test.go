package depacket

import (
	"bytes"
	"slices"
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
// depacketiser; allocs/op are per frame. "camera" pads the fixture's slices
// to the sizes of a 1080p 4 Mbit/s camera (keyframes ~150 KB, others ~20
// KB: 15-110 FU-A packets per frame); the padding is never decoded.
func BenchmarkDepacketH264(b *testing.B) {
	b.Run("fixture", func(b *testing.B) { benchDepacketH264(b, 0, 0) })
	b.Run("camera", func(b *testing.B) { benchDepacketH264(b, 150_000, 20_000) })
}

func benchDepacketH264(b *testing.B, keySize, size int) {
	fx := loadFixture(b, "testdata/h264_bframes.mp4")
	for i, f := range fx.frames {
		want := size
		if f.key {
			want = keySize
		}
		last := len(f.nalus) - 1
		if n := len(f.nalus[last]); n < want {
			fx.frames[i].nalus = append(slices.Clone(f.nalus[:last]), append(bytes.Clone(f.nalus[last]), bytes.Repeat([]byte{0x55}, want-n)...))
		}
	}
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
