package depacket

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// Fuzz inputs are a mode byte followed by packet records:
// flags (bit 0 marker, bits 1-7 timestamp step in ms), 2-byte length,
// payload. Mode bit 0 puts the fixture's parameter sets in the SDP.

func encodeInput(mode byte, pkts []*rtp.Packet) []byte {
	out := []byte{mode}
	var prev uint32
	for i, p := range pkts {
		step := byte(0)
		if i > 0 {
			step = byte(min((p.Timestamp-prev)/90, 127))
		}
		prev = p.Timestamp
		flags := step << 1
		if p.Marker {
			flags |= 1
		}
		out = append(out, flags)
		out = binary.BigEndian.AppendUint16(out, uint16(len(p.Payload)))
		out = append(out, p.Payload...)
	}
	return out
}

func decodeInput(data []byte) (byte, []*rtp.Packet) {
	if len(data) == 0 {
		return 0, nil
	}
	mode, data := data[0], data[1:]
	var pkts []*rtp.Packet
	ts, seq := uint32(0xffff0000), uint16(65000)
	for len(data) >= 3 {
		flags := data[0]
		n := int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3:]
		n = min(n, len(data))
		ts += uint32(flags>>1) * 90
		pkts = append(pkts, &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 96, Marker: flags&1 != 0, Timestamp: ts, SequenceNumber: seq},
			Payload: data[:n],
		})
		seq++
		data = data[n:]
	}
	return mode, pkts
}

// fuzzFormat returns the format a fuzz input plays.
type fuzzFormat func(mode byte, fx fixture) format.Format

func runFuzz(t *testing.T, data []byte, newFormat fuzzFormat, fx fixture) {
	mode, pkts := decodeInput(data)
	forma := newFormat(mode, fx)
	medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
	rec := &recorder{}
	s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{}, rec, Options{})
	if err != nil {
		return
	}
	for _, p := range pkts {
		s.HandleRTP(medi, forma, p)
	}
	checkInvariants(t, rec)
}

// checkInvariants: DTS never decreases within a publish session, video
// payloads are well-formed AVCC, nothing follows a failure.
func checkInvariants(t *testing.T, rec *recorder) {
	if len(rec.fails) > 1 {
		t.Fatalf("Fail called %d times", len(rec.fails))
	}
	if len(rec.tracks) == 1 {
		for i := 1; i < len(rec.units); i++ {
			if rec.units[i].DTS < rec.units[i-1].DTS {
				t.Fatalf("dts decreased in one session: %d after %d", rec.units[i].DTS, rec.units[i-1].DTS)
			}
		}
	}
	for _, au := range rec.units {
		if len(rec.tracks) > 0 && rec.tracks[0][0].IsVideo() {
			if len(au.NALUs) == 0 || au.Payload != nil {
				t.Fatalf("video unit with %d NAL units and a %d-byte payload", len(au.NALUs), len(au.Payload))
			}
			if got := splitAVCC(t, au.AppendAVCC(nil)); len(got) != len(au.NALUs) {
				t.Fatalf("AVCC holds %d NAL units, want %d", len(got), len(au.NALUs))
			}
		}
	}
}

func h264FuzzFormat(mode byte, fx fixture) format.Format {
	f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	if mode&1 != 0 {
		f.SPS, f.PPS = fx.sps, fx.pps
	}
	return f
}

func h265FuzzFormat(mode byte, fx fixture) format.Format {
	f := &format.H265{PayloadTyp: 96}
	if mode&1 != 0 {
		f.VPS, f.SPS, f.PPS = fx.vps, fx.sps, fx.pps
	}
	return f
}

func aacFuzzFormat(mode byte, _ fixture) format.Format {
	if mode&1 != 0 {
		return latmFormat()
	}
	return &format.MPEG4Audio{PayloadTyp: 96, Config: aacConfig(), SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
}

// videoSeeds returns the fuzz seeds of the video table cases: the first
// GOP of each fixture, with and without SDP parameter sets.
func videoSeeds(t testing.TB, h265 bool) [][]byte {
	var seeds [][]byte
	for _, vc := range videoCases() {
		if vc.h265 != h265 {
			continue
		}
		_, pkts, _, _ := vc.setup(t)
		mode := byte(0)
		if vc.sdp {
			mode = 1
		}
		seeds = append(seeds, encodeInput(mode, pkts[:min(len(pkts), 16)]))
	}
	seeds = append(seeds, encodeInput(0, []*rtp.Packet{{Payload: stapA(makeSPS(1024, 1024), []byte{0x68, 0xce, 0x38, 0x80}, []byte{0x65, 0x88})}}))
	return seeds
}

func audioSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for i, ac := range audioCases() {
		if i > 1 { // AAC generic and LATM only
			break
		}
		mode := byte(i)
		seeds = append(seeds, encodeInput(mode, ac.packets(t.(*testing.T))))
	}
	return seeds
}

func FuzzDepacketH264(f *testing.F) {
	fx := loadFixture(f, "testdata/h264_bframes.mp4")
	for _, s := range videoSeeds(f, false) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { runFuzz(t, data, h264FuzzFormat, fx) })
}

func FuzzDepacketH265(f *testing.F) {
	fx := loadFixture(f, "testdata/h265_bframes.mp4")
	for _, s := range videoSeeds(f, true) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) { runFuzz(t, data, h265FuzzFormat, fx) })
}

func FuzzDepacketAAC(f *testing.F) {
	f.Add([]byte{0, 1, 0, 2, 0, 16})
	f.Add([]byte{1, 1, 0, 3, 0x20, 0x00, 0x10})
	f.Fuzz(func(t *testing.T, data []byte) {
		mode, pkts := decodeInput(data)
		forma := aacFuzzFormat(mode, fixture{})
		medi := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{forma}}
		rec := &recorder{}
		s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{}, rec, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			s.HandleRTP(medi, forma, p)
		}
		for _, au := range rec.units {
			if len(au.Payload) == 0 || au.Track != 0 || rec.tracks[0][0].Codec != media.CodecAAC {
				t.Fatalf("bad unit %+v", au)
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz from the table cases when
// VIGIL_WRITE_CORPUS is set.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") == "" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(target string, seeds [][]byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDepacketH264", videoSeeds(t, false))
	write("FuzzDepacketH265", videoSeeds(t, true))
	write("FuzzDepacketAAC", audioSeeds(t))
}
