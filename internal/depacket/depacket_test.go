package depacket

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph265"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

type videoCase struct {
	name string
	path string
	// sdp puts the parameter sets in the SDP; otherwise they go in band
	// before every keyframe.
	sdp bool
	// noMarker clears every marker bit (cameras that rely on timestamp
	// changes to end a frame).
	noMarker bool
	h265     bool
	// maxPayload is the packetiser's payload size (default 1000); small
	// ones split keyframes over enough packets to renew the decoder.
	maxPayload int
}

func videoCases() []videoCase {
	return []videoCase{
		{name: "h264 b-frames params in sdp", path: "testdata/h264_bframes.mp4", sdp: true},
		{name: "h264 params in band", path: "testdata/h264_bframes.mp4"},
		{name: "h264 without marker bits", path: "testdata/h264_bframes.mp4", sdp: true, noMarker: true},
		{name: "h265 b-frames params in sdp", path: "testdata/h265_bframes.mp4", sdp: true, h265: true},
		{name: "h265 params in band", path: "testdata/h265_bframes.mp4", h265: true},
		{name: "h264 small packets", path: "testdata/h264_bframes.mp4", sdp: true, maxPayload: 20},
		{name: "h265 small packets", path: "testdata/h265_bframes.mp4", h265: true, maxPayload: 20},
	}
}

// setup returns the format, the packets and the expected frames of a case.
func (vc videoCase) setup(t testing.TB) (format.Format, []*rtp.Packet, []testFrame, fixture) {
	t.Helper()
	fx := loadFixture(t, vc.path)
	frames := fx.frames
	if !vc.sdp {
		frames = withInBandParams(fx)
	}
	var forma format.Format
	var enc encoder
	maxPayload := vc.maxPayload
	if maxPayload == 0 {
		maxPayload = 1000
	}
	if vc.h265 {
		f := &format.H265{PayloadTyp: 96}
		if vc.sdp {
			f.VPS, f.SPS, f.PPS = fx.vps, fx.sps, fx.pps
		}
		e := &rtph265.Encoder{PayloadType: 96, PayloadMaxSize: maxPayload}
		if err := e.Init(); err != nil {
			t.Fatal(err)
		}
		forma, enc = f, e
	} else {
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
		if vc.sdp {
			f.SPS, f.PPS = fx.sps, fx.pps
		}
		e := &rtph264.Encoder{PayloadType: 96, PayloadMaxSize: maxPayload, PacketizationMode: 1}
		if err := e.Init(); err != nil {
			t.Fatal(err)
		}
		forma, enc = f, e
	}
	pkts := packetizeFrames(t, enc, frames, rtpOrigin)
	if vc.noMarker {
		for _, p := range pkts {
			p.Marker = false
		}
	}
	return forma, pkts, fx.frames, fx
}

func withInBandParams(fx fixture) []testFrame {
	out := make([]testFrame, len(fx.frames))
	for i, f := range fx.frames {
		out[i] = f
		if f.key {
			var params [][]byte
			if fx.vps != nil {
				params = append(params, fx.vps)
			}
			params = append(params, fx.sps, fx.pps)
			out[i].nalus = append(params, f.nalus...)
		}
	}
	return out
}

func TestVideo(t *testing.T) {
	for _, vc := range videoCases() {
		t.Run(vc.name, func(t *testing.T) {
			forma, pkts, want, fx := vc.setup(t)
			rec := &recorder{}
			s, medi := videoSession(t, forma, rec, Options{})
			for _, p := range pkts {
				s.HandleRTP(medi, forma, p)
			}
			if vc.noMarker {
				want = want[:len(want)-1] // the last frame waits for a next timestamp
			}
			checkVideo(t, rec, want, fx, vc.h265)
			if vc.maxPayload > 0 {
				if c := s.states[0].codec.(*videoCodec); c.renewals == 0 {
					t.Fatal("the decoder was never renewed after a large unit")
				}
			}
		})
	}
}

func checkVideo(t *testing.T, rec *recorder, want []testFrame, fx fixture, h265 bool) {
	t.Helper()
	if len(rec.fails) > 0 {
		t.Fatalf("failed: %v", rec.fails)
	}
	if len(rec.tracks) != 1 {
		t.Fatalf("Tracks called %d times, want 1", len(rec.tracks))
	}
	tr := rec.tracks[0][0]
	if tr.Width != 160 || tr.Height != 120 || !bytes.Equal(tr.SPS, fx.sps) || !bytes.Equal(tr.PPS, fx.pps) {
		t.Fatalf("track = %dx%d sps %x", tr.Width, tr.Height, tr.SPS)
	}
	if len(rec.units) != len(want) {
		t.Fatalf("got %d units, want %d", len(rec.units), len(want))
	}
	for i, au := range rec.units {
		w := want[i]
		if au.PTS != w.pts || au.Key != w.key {
			t.Fatalf("unit %d: pts %d key %v, want pts %d key %v", i, au.PTS, au.Key, w.pts, w.key)
		}
		if au.DTS > au.PTS || (i > 0 && au.DTS <= rec.units[i-1].DTS) {
			t.Fatalf("unit %d: dts %d (pts %d, previous dts %d)", i, au.DTS, au.PTS, rec.units[max(i-1, 0)].DTS)
		}
		checkPayload(t, i, au, w, fx, h265)
	}
}

func checkPayload(t *testing.T, i int, au *media.AccessUnit, w testFrame, fx fixture, h265 bool) {
	t.Helper()
	if au.Payload != nil {
		t.Fatalf("unit %d: video unit with an audio payload", i)
	}
	nalus := splitAVCC(t, au.AppendAVCC(nil))
	wantNALUs := w.nalus
	if w.key {
		params := [][]byte{fx.sps, fx.pps}
		if h265 {
			params = append([][]byte{fx.vps}, params...)
		}
		wantNALUs = append(params, w.nalus...)
	}
	if len(nalus) != len(wantNALUs) {
		t.Fatalf("unit %d: %d NAL units, want %d", i, len(nalus), len(wantNALUs))
	}
	for k := range nalus {
		if !bytes.Equal(nalus[k], wantNALUs[k]) {
			t.Fatalf("unit %d NAL unit %d differs", i, k)
		}
	}
}

func TestParameterSetChangeRestartsSession(t *testing.T) {
	fx := loadFixture(t, "testdata/h264_bframes.mp4")
	frames := withInBandParams(fx)
	other := makeSPS(20, 15) // 320x240
	for i := range frames {
		if i >= 12 && frames[i].key {
			frames[i].nalus = append([][]byte{other}, frames[i].nalus[1:]...)
		}
	}
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1}
	if err := enc.Init(); err != nil {
		t.Fatal(err)
	}
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	rec := &recorder{}
	s, medi := videoSession(t, forma, rec, Options{})
	for _, p := range packetizeFrames(t, enc, frames, rtpOrigin) {
		s.HandleRTP(medi, forma, p)
	}
	if len(rec.tracks) != 2 {
		t.Fatalf("Tracks called %d times, want 2", len(rec.tracks))
	}
	if a, b := rec.tracks[0][0], rec.tracks[1][0]; a.Width != 160 || b.Width != 320 || b.Height != 240 {
		t.Fatalf("tracks %dx%d then %dx%d", a.Width, a.Height, b.Width, b.Height)
	}
	if s.Stats().Restarts != 1 {
		t.Fatalf("restarts = %d", s.Stats().Restarts)
	}
}

func TestBadParameterSets(t *testing.T) {
	huge := makeSPS(1024, 1024) // 16384x16384
	garbage := []byte{0x67, 0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		name    string
		sdpSPS  []byte
		bandSPS []byte
		wantRes bool // ErrResolution rather than a parse error
		atNew   bool
		dropped bool // the unit is dropped, the session goes on
	}{
		{name: "absurd resolution in sdp", sdpSPS: huge, wantRes: true, atNew: true},
		{name: "absurd resolution in band", bandSPS: huge, wantRes: true},
		{name: "unparsable sps in band", bandSPS: garbage},
		{name: "unparsable sps in sdp is ignored", sdpSPS: garbage},
		{name: "unparsable sps in band after a good one is dropped", sdpSPS: makeSPS(20, 15), bandSPS: garbage, dropped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pps := []byte{0x68, 0xce, 0x38, 0x80}
			forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: tt.sdpSPS, PPS: pps}
			medi := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}
			rec := &recorder{}
			s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{}, rec, Options{})
			var pe *ParamsError
			if tt.atNew {
				if !errors.As(err, &pe) || !errors.Is(err, ErrResolution) {
					t.Fatalf("New = %v, want a ParamsError with ErrResolution", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tt.bandSPS == nil {
				if len(rec.fails) != 0 {
					t.Fatalf("fails = %v", rec.fails)
				}
				return
			}
			s.HandleRTP(medi, forma, &rtp.Packet{Header: rtp.Header{Marker: true, Timestamp: 1},
				Payload: stapA(tt.bandSPS, pps, []byte{0x65, 0x88, 0x84})})
			if tt.dropped {
				if len(rec.fails) != 0 || s.Stats().Dropped != 1 {
					t.Fatalf("fails %v, dropped %d", rec.fails, s.Stats().Dropped)
				}
				return
			}
			if len(rec.fails) != 1 || !errors.As(rec.fails[0], &pe) || errors.Is(rec.fails[0], ErrResolution) != tt.wantRes {
				t.Fatalf("fails = %v", rec.fails)
			}
			if pe.Codec != media.CodecH264 || pe.Error() == "" {
				t.Fatalf("params error %+v", pe)
			}
			if len(rec.units) != 0 {
				t.Fatal("units delivered after failure")
			}
		})
	}
}

// stapA aggregates NAL units into one STAP-A payload.
func stapA(nalus ...[]byte) []byte {
	out := []byte{24}
	for _, n := range nalus {
		out = append(out, byte(len(n)>>8), byte(len(n)))
		out = append(out, n...)
	}
	return out
}

func TestMalformedVideoNeverPanics(t *testing.T) {
	fx := loadFixture(t, "testdata/h264_bframes.mp4")
	enc := &rtph264.Encoder{PayloadType: 96, PacketizationMode: 1, PayloadMaxSize: 300}
	if err := enc.Init(); err != nil {
		t.Fatal(err)
	}
	good := packetizeFrames(t, enc, fx.frames, rtpOrigin)
	rng := rand.New(rand.NewPCG(1, 2))
	mutations := map[string]func(p *rtp.Packet){
		"random payload": func(p *rtp.Packet) {
			p.Payload = make([]byte, rng.IntN(1500))
			for i := range p.Payload {
				p.Payload[i] = byte(rng.Uint32())
			}
		},
		"truncated": func(p *rtp.Packet) { p.Payload = p.Payload[:rng.IntN(len(p.Payload)+1)] },
		"empty":     func(p *rtp.Packet) { p.Payload = nil },
		"bit flips": func(p *rtp.Packet) {
			if len(p.Payload) > 0 {
				p.Payload[rng.IntN(len(p.Payload))] ^= byte(1 << rng.IntN(8))
			}
		},
		"reordered timestamps": func(p *rtp.Packet) { p.Timestamp -= uint32(rng.IntN(90000)) },
		"lost packets":         func(p *rtp.Packet) { p.SequenceNumber += uint16(rng.IntN(3)) },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: fx.sps, PPS: fx.pps}
			rec := &recorder{}
			s, medi := videoSession(t, forma, rec, Options{})
			for i, p := range good {
				q := *p
				q.Payload = append([]byte(nil), p.Payload...)
				if i%3 == 1 {
					mutate(&q)
				}
				s.HandleRTP(medi, forma, &q)
			}
			for i := 1; i < len(rec.units); i++ {
				if rec.units[i].DTS < rec.units[i-1].DTS && len(rec.tracks) < 2 {
					t.Fatalf("dts went backwards without a new session")
				}
			}
		})
	}
}

func TestUnsupportedFormatsAreSkipped(t *testing.T) {
	vp8 := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{&format.VP8{PayloadTyp: 96}}}
	_, err := New(&description.Session{Medias: []*description.Media{vp8}}, &fakeTiming{}, &recorder{}, Options{})
	if !errors.Is(err, ErrNoTracks) {
		t.Fatalf("New = %v, want ErrNoTracks", err)
	}
	for _, desc := range []*description.Session{nil, {}, {Medias: []*description.Media{nil, {Formats: []format.Format{nil}}}}} {
		if _, err := New(desc, &fakeTiming{}, &recorder{}, Options{}); !errors.Is(err, ErrNoTracks) {
			t.Fatalf("New(%+v) = %v, want ErrNoTracks", desc, err)
		}
	}
	pcmu := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{&format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}}}
	s, err := New(&description.Session{Medias: []*description.Media{vp8, pcmu}}, &fakeTiming{}, &recorder{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tr := s.Tracks(); len(tr) != 1 || tr[0].Codec != media.CodecG711U || tr[0].ID != 0 {
		t.Fatalf("tracks = %+v", tr)
	}
	if len(s.Medias()) != 1 || s.Medias()[0] != pcmu {
		t.Fatal("medias should list only pcmu")
	}
}

func TestWallClock(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		trustNTP bool
		// steps: pts (s), arrival offset (s), ntp offset (s, <0: none)
		steps    [][3]float64
		want     []float64 // wall offsets from t0 (s)
		wantJump []bool
	}{
		{
			name:  "anchored on arrival",
			steps: [][3]float64{{0, 0, -1}, {1, 1.2, -1}, {2, 1.9, -1}},
			want:  []float64{0, 1, 2}, wantJump: []bool{false, false, false},
		},
		{
			name:  "camera clock jumps forward",
			steps: [][3]float64{{0, 0, -1}, {1, 1, -1}, {3601, 2, -1}, {3602, 3, -1}},
			want:  []float64{0, 1, 2, 3}, wantJump: []bool{false, false, true, false},
		},
		{
			name:  "stall longer than the limit",
			steps: [][3]float64{{0, 0, -1}, {1, 30, -1}, {2, 31, -1}},
			want:  []float64{0, 30, 31}, wantJump: []bool{false, true, false},
		},
		{
			// Units keep arriving, each a little later than its PTS says (a
			// reader falling behind): re-anchored, but no restart.
			name:  "gradual drift",
			steps: [][3]float64{{0, 0, -1}, {1, 4, -1}, {2, 8, -1}, {3, 12, -1}, {4, 16, -1}, {5, 17, -1}},
			want:  []float64{0, 1, 2, 3, 16, 17}, wantJump: []bool{false, false, false, false, false, false},
		},
		{
			name:  "ntp used when sane",
			steps: [][3]float64{{0, 0, -1}, {1, 1, 1.5}, {2, 2, 2.5}},
			want:  []float64{0, 1.5, 2.5}, wantJump: []bool{false, false, false},
		},
		{
			name:  "ntp far off is ignored",
			steps: [][3]float64{{0, 0, 100000}, {1, 1, 100001}},
			want:  []float64{0, 1}, wantJump: []bool{false, false},
		},
		{
			name: "ntp far off is trusted when asked", trustNTP: true,
			steps: [][3]float64{{0, 0, -7200}, {1, 1, -7199}},
			want:  []float64{-7200, -7199}, wantJump: []bool{false, false},
		},
	}
	sec := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := wallClock{jump: 10 * time.Second, trustNTP: tt.trustNTP}
			for i, st := range tt.steps {
				ntp, ok := time.Time{}, st[2] >= 0 || tt.trustNTP
				if ok {
					ntp = t0.Add(sec(st[2]))
				}
				if st[2] == -1 {
					ok = false
				}
				w, jumped, _ := c.wall(sec(st[0]), ntp, ok, t0.Add(sec(st[1])))
				if !w.Equal(t0.Add(sec(tt.want[i]))) || jumped != tt.wantJump[i] {
					t.Fatalf("step %d: wall %v jumped %v, want %v %v", i, w.Sub(t0), jumped, sec(tt.want[i]), tt.wantJump[i])
				}
			}
		})
	}
}

func TestClockJumpRestartsSession(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	forma := &format.G711{PayloadTyp: 0, MULaw: true, SampleRate: 8000, ChannelCount: 1}
	medi := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{forma}}
	rec := &recorder{}
	s, err := New(&description.Session{Medias: []*description.Media{medi}}, &fakeTiming{}, rec,
		Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	send := func(ts uint32) {
		s.HandleRTP(medi, forma, &rtp.Packet{Header: rtp.Header{Timestamp: ts, Marker: true}, Payload: make([]byte, 160)})
	}
	for i := range 10 {
		send(uint32(i * 160))
		now = now.Add(20 * time.Millisecond)
	}
	send(9*160 + 8000*3600) // the camera's clock jumps an hour ahead
	now = now.Add(20 * time.Millisecond)
	send(10*160 + 8000*3600)
	if len(rec.tracks) != 2 || s.Stats().Restarts != 1 {
		t.Fatalf("tracks calls %d, restarts %d; want 2, 1", len(rec.tracks), s.Stats().Restarts)
	}
	last := rec.units[len(rec.units)-1]
	if d := last.Wall.Sub(now); d < -time.Second || d > time.Second {
		t.Fatalf("wall after jump is %v off", d)
	}
	if last.Track != 0 || !last.Key || len(last.Payload) != 160 {
		t.Fatalf("unit %+v", last)
	}
}

func TestFixDTS(t *testing.T) {
	tests := []struct {
		name        string
		last        int64
		u           unit
		want        int64
		wantRestart bool
	}{
		{"small step back is nudged", 9000, unit{pts: 12000, dts: 6000}, 9001, false},
		{"equal is nudged", 9000, unit{pts: 12000, dts: 9000}, 9001, false},
		{"no room before pts restarts", 9000, unit{pts: 8000, dts: 8000}, 8000, true},
		{"big jump back restarts", 900000, unit{pts: 12000, dts: 9000}, 9000, true},
		{"equal without room is kept", 9000, unit{pts: 9000, dts: 9000}, 9000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Session{logs: newLogLimiter(slog.New(slog.DiscardHandler), time.Second)}
			st := &trackState{lastDTS: tt.last, hasLast: true}
			if got := st.fixDTS(s, tt.u, 90000); got != tt.want || s.restart != tt.wantRestart {
				t.Fatalf("fixDTS = %d restart %v, want %d %v", got, s.restart, tt.want, tt.wantRestart)
			}
		})
	}
}
