package whep

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"github.com/vigil-video/vigil/internal/media"
)

type packets struct{ got []*rtp.Packet }

func (p *packets) WriteRTP(pkt *rtp.Packet) error {
	c := *pkt
	p.got = append(p.got, &c)
	return nil
}

// unit is one step of a sender test: a unit (or a restart) and the RTP
// timestamp step expected from the previous frame (-1: not sent).
type unit struct {
	restart  bool
	pts      int64
	key      bool
	replayed bool
	size     int
	step     int64
}

func TestSenderVideoTimestamps(t *testing.T) {
	cases := []struct {
		name  string
		units []unit
	}{
		{"live from a keyframe", []unit{
			{pts: 1000, key: true, step: 0}, {pts: 4600, step: 3600}, {pts: 8200, step: 3600}, {pts: 9100, step: 900},
		}},
		{"waits for a keyframe", []unit{
			{pts: 1000, step: -1}, {pts: 4600, step: -1}, {pts: 8200, key: true, step: 0}, {pts: 11800, step: 3600},
		}},
		{"replayed GOP squeezed, then live", []unit{
			{pts: 0, key: true, replayed: true, step: 0}, {pts: 9000, replayed: true, step: replayStep},
			{pts: 18000, replayed: true, step: replayStep}, {pts: 27000, step: 9000}, {pts: 36000, step: 9000},
		}},
		{"new session re-anchors", []unit{
			{pts: 90000, key: true, step: 0}, {pts: 93600, step: 3600},
			{restart: true}, {pts: 10, step: -1}, {pts: 20, key: true, step: minLiveStep}, {pts: 3620, step: 3600},
		}},
		{"big gap is clamped", []unit{
			{pts: 0, key: true, step: 0}, {restart: true}, {pts: 900000, key: true, step: maxLiveStep},
		}},
		{"large frame is fragmented", []unit{
			{pts: 0, key: true, size: 5000, step: 0}, {pts: 3600, size: 3000, step: 3600},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out packets
			s := newSender(&out, nil)
			var lastTS uint32
			first := true
			for i, u := range c.units {
				if u.restart {
					s.restart()
					continue
				}
				size := max(u.size, 10)
				au := &media.AccessUnit{PTS: u.pts, DTS: u.pts, Key: u.key, NALUs: [][]byte{nalu(u.key, size)}}
				if !u.key {
					au.NALUs = [][]byte{nalu(false, size)}
				}
				n := len(out.got)
				sent, err := s.video(au, u.replayed)
				if err != nil {
					t.Fatal(err)
				}
				if u.step < 0 {
					if sent || len(out.got) != n {
						t.Fatalf("unit %d sent, want skipped", i)
					}
					continue
				}
				pkts := out.got[n:]
				if !sent || len(pkts) == 0 {
					t.Fatalf("unit %d not sent", i)
				}
				if want := (size + rtpPayloadMTU - 1) / rtpPayloadMTU; size > rtpPayloadMTU && len(pkts) < want {
					t.Fatalf("unit %d: %d packets for %d bytes", i, len(pkts), size)
				}
				for j, p := range pkts {
					if p.Timestamp != pkts[0].Timestamp || p.Marker != (j == len(pkts)-1) {
						t.Fatalf("unit %d packet %d: ts %d marker %v", i, j, p.Timestamp, p.Marker)
					}
				}
				ts := pkts[0].Timestamp
				if !first && int64(ts-lastTS) != u.step {
					t.Fatalf("unit %d: timestamp step %d, want %d", i, int64(ts-lastTS), u.step)
				}
				first, lastTS = false, ts
			}
			for i := 1; i < len(out.got); i++ {
				if out.got[i].SequenceNumber != out.got[i-1].SequenceNumber+1 {
					t.Fatalf("sequence gap at packet %d", i)
				}
			}
			// What was sent depacketizes back into frames.
			var d codecs.H264Packet
			for _, p := range out.got {
				if _, err := d.Unmarshal(p.Payload); err != nil {
					t.Fatalf("depacketize: %v", err)
				}
			}
		})
	}
}

// nalu is an IDR (5) or non-IDR (1) slice of size bytes.
func nalu(key bool, size int) []byte {
	b := make([]byte, size)
	b[0] = 0x41
	if key {
		b[0] = 0x65
	}
	for i := 1; i < size; i++ {
		b[i] = byte(i) | 1
	}
	return b
}

func TestSenderAudioWaitsForLiveVideo(t *testing.T) {
	var v, a packets
	s := newSender(&v, &a)
	opus := func(pts int64) *media.AccessUnit {
		return &media.AccessUnit{Track: 1, PTS: pts, DTS: pts, Key: true, Payload: []byte{0xfc, 1, 2}}
	}
	if err := s.audio(opus(0), false); err != nil || len(a.got) != 0 {
		t.Fatal("audio sent before video")
	}
	_, _ = s.video(&media.AccessUnit{PTS: 0, DTS: 0, Key: true, NALUs: [][]byte{nalu(true, 10)}}, true)
	if err := s.audio(opus(960), true); err != nil || len(a.got) != 0 {
		t.Fatal("replayed audio sent")
	}
	_, _ = s.video(&media.AccessUnit{PTS: 3600, DTS: 3600, NALUs: [][]byte{nalu(false, 10)}}, false)
	for _, pts := range []int64{1920, 2880} {
		if err := s.audio(opus(pts), false); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.got) != 2 || a.got[1].Timestamp-a.got[0].Timestamp != 960 || a.got[1].SequenceNumber != a.got[0].SequenceNumber+1 {
		t.Fatalf("audio packets %+v", a.got)
	}
}
