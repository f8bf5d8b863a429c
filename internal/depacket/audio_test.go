package depacket

import (
	"bytes"
	"testing"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

func aacConfig() *mpeg4audio.AudioSpecificConfig {
	return &mpeg4audio.AudioSpecificConfig{Type: mpeg4audio.ObjectTypeAACLC, SampleRate: 48000, ChannelConfig: 2}
}

// audioCase feeds packets of one format and expects units.
type audioCase struct {
	name    string
	forma   format.Format
	packets func(t *testing.T) []*rtp.Packet
	codec   media.Codec
	// want: payloads and PTS of the units, in order
	wantPayloads [][]byte
	wantPTS      []int64
	rate         int
}

func frames(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = bytes.Repeat([]byte{byte(i + 1)}, size)
	}
	return out
}

func audioCases() []audioCase {
	aacFrames := frames(3, 100)
	opus := frames(1, 60)
	pcm := frames(1, 160)
	return []audioCase{
		{
			name:  "aac generic, three frames in a packet",
			forma: &format.MPEG4Audio{PayloadTyp: 97, Config: aacConfig(), SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3},
			packets: func(t *testing.T) []*rtp.Packet {
				f := &format.MPEG4Audio{PayloadTyp: 97, Config: aacConfig(), SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
				enc, err := f.CreateEncoder()
				if err != nil {
					t.Fatal(err)
				}
				pkts, err := enc.Encode(aacFrames)
				if err != nil {
					t.Fatal(err)
				}
				return pkts
			},
			codec: media.CodecAAC, wantPayloads: aacFrames, wantPTS: []int64{0, 1024, 2048}, rate: 48000,
		},
		{
			name:  "aac latm",
			forma: latmFormat(),
			packets: func(t *testing.T) []*rtp.Packet {
				el := mpeg4audio.AudioMuxElement{MuxConfigPresent: true, UseSameStreamMux: true,
					StreamMuxConfig: latmFormat().StreamMuxConfig, Payloads: [][][][]byte{{{aacFrames[0]}}}}
				b, err := el.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				return []*rtp.Packet{{Header: rtp.Header{Marker: true, PayloadType: 96}, Payload: b}}
			},
			codec: media.CodecAAC, wantPayloads: aacFrames[:1], wantPTS: []int64{0}, rate: 90000,
		},
		{
			name:  "opus",
			forma: &format.Opus{PayloadTyp: 111, ChannelCount: 2},
			packets: func(*testing.T) []*rtp.Packet {
				return []*rtp.Packet{{Header: rtp.Header{Marker: true, PayloadType: 111}, Payload: opus[0]}}
			},
			codec: media.CodecOpus, wantPayloads: opus, wantPTS: []int64{0}, rate: 48000,
		},
		{
			name:  "g711 a-law",
			forma: &format.G711{PayloadTyp: 8, SampleRate: 8000, ChannelCount: 1},
			packets: func(*testing.T) []*rtp.Packet {
				return []*rtp.Packet{{Header: rtp.Header{PayloadType: 8}, Payload: pcm[0]}}
			},
			codec: media.CodecG711A, wantPayloads: pcm, wantPTS: []int64{0}, rate: 8000,
		},
	}
}

func latmFormat() *format.MPEG4AudioLATM {
	return &format.MPEG4AudioLATM{PayloadTyp: 96, ProfileLevelID: 30, CPresent: true,
		StreamMuxConfig: &mpeg4audio.StreamMuxConfig{Programs: []*mpeg4audio.StreamMuxConfigProgram{{
			Layers: []*mpeg4audio.StreamMuxConfigLayer{{AudioSpecificConfig: aacConfig(), LatmBufferFullness: 255}},
		}}}}
}

func TestAudio(t *testing.T) {
	for _, ac := range audioCases() {
		t.Run(ac.name, func(t *testing.T) {
			medi := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{ac.forma}}
			rec := &recorder{}
			s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{}, rec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ac.packets(t) {
				s.HandleRTP(medi, ac.forma, p)
			}
			if len(rec.tracks) != 1 {
				t.Fatalf("Tracks calls = %d", len(rec.tracks))
			}
			tr := rec.tracks[0][0]
			if tr.Codec != ac.codec || tr.ClockRate != ac.rate {
				t.Fatalf("track %+v", tr)
			}
			if ac.codec == media.CodecAAC && (len(tr.AACConfig) == 0 || tr.SampleRate != 48000 || tr.ChannelCount != 2) {
				t.Fatalf("aac track %+v", tr)
			}
			if len(rec.units) != len(ac.wantPayloads) {
				t.Fatalf("got %d units, want %d", len(rec.units), len(ac.wantPayloads))
			}
			for i, au := range rec.units {
				if !bytes.Equal(au.Payload, ac.wantPayloads[i]) || au.PTS != ac.wantPTS[i] || au.DTS != au.PTS || !au.Key {
					t.Fatalf("unit %d: pts %d key %v len %d", i, au.PTS, au.Key, len(au.Payload))
				}
			}
		})
	}
}

// TestAudioWaitsForVideoParameters checks that no track is published
// before the video track's parameter sets are known.
func TestAudioWaitsForVideoParameters(t *testing.T) {
	video := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.H264{PayloadTyp: 96, PacketizationMode: 1}}}
	g711 := &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}
	audio := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{g711}}
	rec := &recorder{}
	s, err := New(&description.Session{Medias: []*description.Media{video, audio}}, &fakeTiming{}, rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.HandleRTP(audio, g711, &rtp.Packet{Payload: make([]byte, 160)})
	if len(rec.units) != 0 || s.Stats().Dropped != 1 {
		t.Fatalf("units %d dropped %d, want 0 and 1", len(rec.units), s.Stats().Dropped)
	}
	if tr := s.Tracks(); len(tr) != 2 || tr[0].Codec != media.CodecH264 || tr[1].Codec != media.CodecG711U {
		t.Fatalf("tracks %+v", tr)
	}
}
