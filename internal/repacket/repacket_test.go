package repacket_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/depacket"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/sim"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		track   media.Track
		wantNil bool
		wantErr bool
		wantPT  uint8
	}{
		{"h264", media.Track{Codec: media.CodecH264, ClockRate: 90000}, false, false, 97},
		{"h265", media.Track{Codec: media.CodecH265, ClockRate: 90000}, false, false, 97},
		{"aac", media.Track{Codec: media.CodecAAC, ClockRate: 48000, AACConfig: []byte{0x11, 0x90}}, false, false, 97},
		{"aac bad config", media.Track{Codec: media.CodecAAC, AACConfig: []byte{0xff}}, false, true, 0},
		{"opus", media.Track{Codec: media.CodecOpus, ClockRate: 48000, ChannelCount: 2}, false, false, 97},
		{"pcma 8k mono is static 8", media.Track{Codec: media.CodecG711A, SampleRate: 8000, ChannelCount: 1}, false, false, 8},
		{"pcmu 8k mono is static 0", media.Track{Codec: media.CodecG711U, SampleRate: 8000, ChannelCount: 1}, false, false, 0},
		{"pcmu 16k is dynamic", media.Track{Codec: media.CodecG711U, SampleRate: 16000, ChannelCount: 1}, false, false, 97},
		{"unknown not sent", media.Track{Codec: media.CodecUnknown}, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := repacket.New(tt.track, 1)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if (tr == nil) != tt.wantNil {
				t.Fatalf("track = %v, want nil %v", tr, tt.wantNil)
			}
			if tr == nil {
				return
			}
			if pt := tr.Media.Formats[0].PayloadType(); pt != tt.wantPT {
				t.Fatalf("payload type %d, want %d", pt, tt.wantPT)
			}
		})
	}
}

func TestEmptyUnits(t *testing.T) {
	for _, c := range []media.Codec{media.CodecH264, media.CodecH265, media.CodecG711A} {
		tr, err := repacket.New(media.Track{Codec: c, ClockRate: 90000}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Encode(&media.AccessUnit{PTS: 1}); !errors.Is(err, repacket.ErrEmptyUnit) {
			t.Fatalf("%s: err = %v, want ErrEmptyUnit", c, err)
		}
	}
}

func TestDescribeSkipsUnsendable(t *testing.T) {
	tracks := []media.Track{
		{ID: 0, Codec: media.CodecUnknown},
		{ID: 1, Codec: media.CodecAAC, AACConfig: []byte{0xff}},
		{ID: 2, Codec: media.CodecH264, ClockRate: 90000},
	}
	var skipped []int
	desc, outs := repacket.Describe(tracks, func(i int, _ error) { skipped = append(skipped, i) })
	if desc == nil || len(desc.Medias) != 1 || len(outs) != 3 || outs[0] != nil || outs[1] != nil || outs[2] == nil {
		t.Fatalf("desc %v outs %v", desc, outs)
	}
	if len(skipped) != 1 || skipped[0] != 1 {
		t.Fatalf("skipped %v, want [1]", skipped)
	}
	if desc, outs := repacket.Describe(tracks[:1], nil); desc != nil || outs != nil {
		t.Fatal("a description without sendable tracks")
	}
}

// rtpTiming gives depacket each packet's RTP timestamp as its PTS.
type rtpTiming struct{}

func (rtpTiming) PacketPTS(_ *description.Media, pkt *rtp.Packet) (int64, bool) {
	return int64(pkt.Timestamp), true
}

func (rtpTiming) PacketNTP(*description.Media, *rtp.Packet) (time.Time, bool) {
	return time.Time{}, false
}

type units struct {
	mu  sync.Mutex
	got []*media.AccessUnit
	err error
}

func (u *units) Tracks([]media.Track) {}
func (u *units) Unit(au *media.AccessUnit) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.got = append(u.got, au)
}
func (u *units) Fail(err error) { u.err = err }

// TestH264RoundTrip packetises the real clip and depacketises it again:
// every frame comes back with its NAL units and PTS.
func TestH264RoundTrip(t *testing.T) {
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	track := media.Track{Codec: media.CodecH264, ClockRate: 90000, SPS: clip.SPS, PPS: clip.PPS}
	desc, outs := repacket.Describe([]media.Track{track}, nil)
	if desc == nil {
		t.Fatal("no description")
	}
	sink := &units{}
	dp, err := depacket.New(desc, rtpTiming{}, sink, depacket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	forma := desc.Medias[0].Formats[0].(*format.H264)
	for _, f := range clip.Frames {
		pkts, err := outs[0].Encode(&media.AccessUnit{PTS: f.PTS + 1000, DTS: f.DTS, Key: f.Key, NALUs: f.NALUs})
		if err != nil {
			t.Fatal(err)
		}
		if len(pkts) == 0 || !pkts[len(pkts)-1].Marker {
			t.Fatal("frame without a final marked packet")
		}
		for _, p := range pkts {
			if p.Timestamp != uint32(f.PTS+1000) {
				t.Fatalf("timestamp %d, want %d", p.Timestamp, f.PTS+1000)
			}
			dp.HandleRTP(desc.Medias[0], forma, p)
		}
	}
	if sink.err != nil {
		t.Fatal(sink.err)
	}
	// depacket holds the last frame until the next one starts
	if got, want := len(sink.got), len(clip.Frames); got < want-1 {
		t.Fatalf("%d frames back, want %d", got, want)
	}
	for i, au := range sink.got {
		f := clip.Frames[i]
		if au.Key != f.Key || !sameNALUs(au.NALUs, f.NALUs) {
			t.Fatalf("frame %d differs (key %v/%v, %d/%d nalus)", i, au.Key, f.Key, len(au.NALUs), len(f.NALUs))
		}
	}
}

func sameNALUs(got, want [][]byte) bool {
	// depacket may prepend parameter sets to keyframes
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

func TestSameTracks(t *testing.T) {
	h264 := media.Track{Codec: media.CodecH264, ClockRate: 90000, SPS: []byte{0x67, 1}, PPS: []byte{0x68, 1}}
	aac := media.Track{ID: 1, Codec: media.CodecAAC, ClockRate: 48000, AACConfig: []byte{0x11, 0x90}, SampleRate: 48000, ChannelCount: 2}
	with := func(t media.Track, f func(*media.Track)) media.Track { f(&t); return t }
	tests := []struct {
		name string
		a, b []media.Track
		want bool
	}{
		{"equal", []media.Track{h264, aac}, []media.Track{h264, aac}, true},
		{"both empty", nil, nil, true},
		{"width ignored", []media.Track{h264}, []media.Track{with(h264, func(t *media.Track) { t.Width = 1 })}, true},
		{"other sps", []media.Track{h264}, []media.Track{with(h264, func(t *media.Track) { t.SPS = []byte{0x67, 2} })}, false},
		{"other codec", []media.Track{h264}, []media.Track{with(h264, func(t *media.Track) { t.Codec = media.CodecH265 })}, false},
		{"other channels", []media.Track{aac}, []media.Track{with(aac, func(t *media.Track) { t.ChannelCount = 1 })}, false},
		{"track added", []media.Track{h264}, []media.Track{h264, aac}, false},
		{"order", []media.Track{h264, aac}, []media.Track{aac, h264}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := repacket.SameTracks(tt.a, tt.b); got != tt.want {
				t.Fatalf("SameTracks = %v, want %v", got, tt.want)
			}
		})
	}
}
