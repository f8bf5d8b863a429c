package spool

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/segment"
	"github.com/vigil-video/vigil/internal/sim"
)

// clipFragments cuts the embedded real clip into fragments of per frames
// each (moof+mdat built with internal/segment), starting at t0.
func clipFragments(t testing.TB, per int, t0 time.Time) (init []byte, frags []Fragment) {
	t.Helper()
	clip, err := sim.DefaultClip()
	if err != nil {
		t.Fatal(err)
	}
	init, err = segment.Init([]media.Track{{ID: 0, Codec: media.CodecH264, ClockRate: 90000,
		SPS: clip.SPS, PPS: clip.PPS, Width: clip.Width, Height: clip.Height}})
	if err != nil {
		t.Fatal(err)
	}
	frameDur := uint32(90000 / clip.FPS)
	for i := 0; i+per <= len(clip.Frames); i += per {
		var payload []byte
		run := segment.Run{TrackID: 1, BaseTime: uint64(clip.Frames[i].DTS)}
		for _, fr := range clip.Frames[i : i+per] {
			n := len(payload)
			for _, nalu := range fr.NALUs {
				payload = binary.BigEndian.AppendUint32(payload, uint32(len(nalu)))
				payload = append(payload, nalu...)
			}
			run.Samples = append(run.Samples, segment.Sample{Duration: frameDur, Size: uint32(len(payload) - n),
				CTO: int32(fr.PTS - fr.DTS), NonSync: !fr.Key})
		}
		data := segment.AppendFragmentHeader(nil, uint32(len(frags)+1), []segment.Run{run})
		data = append(data, payload...)
		d := time.Duration(per) * time.Second / time.Duration(clip.FPS)
		frags = append(frags, Fragment{Start: t0.Add(time.Duration(len(frags)) * d), Duration: d,
			Key: clip.Frames[i].Key, Init: init, Data: data})
	}
	if len(frags) == 0 {
		t.Fatal("clip gave no fragments")
	}
	return init, frags
}

// checkPlayable parses init+data as a real fMP4 file.
func checkPlayable(t *testing.T, init, data []byte) {
	t.Helper()
	file := append(append([]byte(nil), init...), data...)
	res, err := segment.Scan(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("spooled fragment does not parse as fMP4: %v", err)
	}
	if len(res.Fragments) != 1 {
		t.Fatalf("scan found %d fragments, want 1", len(res.Fragments))
	}
}

func mustOpen(t *testing.T, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendAll(t *testing.T, s *Spool, cam string, frags []Fragment) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, f := range frags {
		seq, err := s.Append(cam, f)
		if err != nil {
			t.Fatalf("append: %v", err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}
