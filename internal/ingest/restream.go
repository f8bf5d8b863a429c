package ingest

import (
	"context"
	"log/slog"
	"sync"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/stream"
)

// restreamer re-serves one camera's stream to one RTSP reader connection:
// a stream Queue feeds a gortsplib ServerStream, rebuilt at each publish
// session. Each reader gets its own so that it starts on a keyframe: it
// joins the stream only once its PLAY is answered, and skips everything
// before the next live keyframe (no burst of the cached GOP, which would
// overflow UDP receivers).
type restreamer struct {
	s      *Server
	camera string
	st     *stream.Stream
	q      *stream.Queue
	gate   *keyGate
	cancel context.CancelFunc
	log    *slog.Logger

	mu      sync.Mutex
	ss      *gortsplib.ServerStream
	tracks  []media.Track
	outs    []*repacket.Track // per track; nil for tracks not served
	readers int
	started bool
}

// newRestreamer prepares a restreamer for st's current tracks; its
// goroutine runs until stop or the server's end.
func newRestreamer(s *Server, camera string, st *stream.Stream) *restreamer {
	ctx, cancel := context.WithCancel(s.runCtx)
	q := stream.NewQueue(stream.QueueOptions{MaxUnits: 512, MaxBytes: 8 << 20})
	rs := &restreamer{
		s: s, camera: camera, st: st, q: q, gate: &keyGate{q: q}, cancel: cancel,
		log: s.log.With("camera", camera, "restream", true),
	}
	rs.rebuild(st.Tracks())
	s.goOwned(func(context.Context) { rs.run(ctx) })
	return rs
}

// serverStream returns the stream to serve, or nil when the camera is
// not publishing.
func (rs *restreamer) serverStream() *gortsplib.ServerStream {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.ss
}

// acquire counts a reader session.
func (rs *restreamer) acquire() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.readers++
}

// release uncounts a reader session; the last one stops the restreamer.
func (rs *restreamer) release() {
	rs.mu.Lock()
	rs.readers--
	last := rs.readers <= 0
	rs.mu.Unlock()
	if last {
		rs.stop()
	}
}

// unused reports whether no session uses the restreamer.
func (rs *restreamer) unused() bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.readers <= 0
}

// start joins the camera's stream; call it once a PLAY was answered.
func (rs *restreamer) start() {
	rs.mu.Lock()
	already := rs.started
	rs.started = true
	rs.mu.Unlock()
	if !already {
		rs.st.AddReader(rs.gate)
		rs.gate.goLive()
	}
}

func (rs *restreamer) stop() { rs.cancel() }

// run moves the queue's items to the ServerStream until stopped.
func (rs *restreamer) run(ctx context.Context) {
	defer rs.shutdown()
	for {
		it, err := rs.q.Next(ctx)
		if err != nil {
			return
		}
		switch it.Kind {
		case stream.ItemBegin:
			rs.begin(it.Tracks)
		case stream.ItemUnit:
			rs.write(it.Unit)
		case stream.ItemEnd:
			rs.rebuild(nil)
		}
	}
}

func (rs *restreamer) shutdown() {
	rs.mu.Lock()
	started := rs.started
	rs.mu.Unlock()
	if started {
		rs.st.RemoveReader(rs.gate)
	}
	rs.rebuild(nil)
}

// begin adopts a publish session's tracks, rebuilding the ServerStream
// when they differ from the served ones.
func (rs *restreamer) begin(tracks []media.Track) {
	rs.mu.Lock()
	same := rs.ss != nil && repacket.SameTracks(rs.tracks, tracks)
	rs.mu.Unlock()
	if !same {
		rs.rebuild(tracks)
	}
}

// rebuild replaces the ServerStream by one for tracks (none for nil);
// current readers are disconnected.
func (rs *restreamer) rebuild(tracks []media.Track) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.ss != nil {
		rs.ss.Close()
		rs.ss = nil
	}
	rs.tracks, rs.outs = tracks, nil
	desc, outs := rs.describe(tracks)
	if desc == nil {
		return
	}
	ss := &gortsplib.ServerStream{Server: rs.s.srv, Desc: desc}
	if err := ss.Initialize(); err != nil {
		rs.log.Warn("cannot re-stream", "error", err.Error())
		return
	}
	rs.ss, rs.outs = ss, outs
}

// describe builds the session description and packetisers of tracks;
// nil when no track can be served.
func (rs *restreamer) describe(tracks []media.Track) (*description.Session, []*repacket.Track) {
	return repacket.Describe(tracks, func(i int, err error) {
		rs.log.Warn("track not re-streamed", "track", i, "codec", tracks[i].Codec.String(), "error", err.Error())
	})
}

// write sends one unit to the reader.
func (rs *restreamer) write(au *media.AccessUnit) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.ss == nil || au.Track >= len(rs.outs) || rs.outs[au.Track] == nil {
		return
	}
	out := rs.outs[au.Track]
	pkts, err := out.Encode(au)
	if err != nil {
		return
	}
	for _, p := range pkts {
		_ = rs.ss.WritePacketRTPWithNTP(out.Media, p, au.Wall)
	}
}

// keyGate is the restreamer's stream reader: it ignores the GOP that the
// stream replays on AddReader, then passes units on from the first live
// video keyframe (or at once for audio-only streams).
type keyGate struct {
	q *stream.Queue

	mu    sync.Mutex
	live  bool
	keyed bool
	video []bool // per track
}

func (g *keyGate) goLive() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.live = true
}

// Begin implements stream.Reader.
func (g *keyGate) Begin(tracks []media.Track) {
	g.mu.Lock()
	g.keyed = true // audio-only: no keyframe to wait for
	g.video = make([]bool, len(tracks))
	for i, t := range tracks {
		g.video[i] = t.IsVideo()
		if g.video[i] {
			g.keyed = false
		}
	}
	g.mu.Unlock()
	g.q.Begin(tracks)
}

// Write implements stream.Reader.
func (g *keyGate) Write(au *media.AccessUnit) {
	g.mu.Lock()
	if g.live && !g.keyed && au.Key && au.Track < len(g.video) && g.video[au.Track] {
		g.keyed = true
	}
	pass := g.live && g.keyed
	g.mu.Unlock()
	if pass {
		g.q.Write(au)
	}
}

// End implements stream.Reader.
func (g *keyGate) End() { g.q.End() }
