package whep

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// session is one viewer: a peer connection fed from its own queue on the
// camera's browser stream.
type session struct {
	srv     *Server
	id      string
	camera  string
	owner   string      // the user who opened it: only they (or an admin) may end it
	viewer  audit.Entry // who, from where: for the live_stop of a session that ends by itself
	deleted atomic.Bool // ended by DELETE (the API records that live_stop)

	// Set up by the POST handler before run starts.
	st           *stream.Stream
	release      func()
	pc           *webrtc.PeerConnection
	videoTrack   *webrtc.TrackLocalStaticRTP
	audioTrack   *webrtc.TrackLocalStaticRTP
	senders      []*webrtc.RTPSender
	videoSender  *webrtc.RTPSender
	video, audio int

	ctx       context.Context
	stop      context.CancelFunc // ends the session in any phase
	connected chan struct{}      // closed when the peer connection connects
	connOnce  sync.Once
	done      chan struct{} // closed when the session has ended
	doneOnce  sync.Once

	// Counters, read at the end.
	frames, dropped uint64
}

func newSession(s *Server, id, camera, owner string) *session {
	ctx, stop := context.WithCancel(context.Background())
	return &session{
		srv: s, id: id, camera: camera, owner: owner, ctx: ctx, stop: stop,
		connected: make(chan struct{}), done: make(chan struct{}),
		video: -1, audio: -1,
	}
}

// cancel ends the session (DELETE, Run's end).
func (ss *session) cancel() { ss.stop() }

// addTracks adds the outgoing tracks to the peer connection.
func (ss *session) addTracks(video media.Track, audio bool) error {
	vt, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: h264Fmtp(video.SPS),
	}, "video", "vigil-"+ss.camera)
	if err != nil {
		return errors.New("cannot create the video track")
	}
	sender, err := ss.pc.AddTrack(vt)
	if err != nil {
		return errors.New("cannot add the video track: " + err.Error())
	}
	ss.videoTrack, ss.videoSender = vt, sender
	ss.senders = append(ss.senders, sender)
	if !audio {
		return nil
	}
	at, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
	}, "audio", "vigil-"+ss.camera)
	if err != nil {
		return errors.New("cannot create the audio track")
	}
	if sender, err = ss.pc.AddTrack(at); err != nil {
		return errors.New("cannot add the audio track: " + err.Error())
	}
	ss.audioTrack = at
	ss.senders = append(ss.senders, sender)
	return nil
}

// h264Fmtp is the fmtp of the video track: the stream's profile, so that
// the answer picks the browser's matching payload type when it has one.
func h264Fmtp(sps []byte) string {
	plid := "42e01f"
	if len(sps) >= 4 {
		const hexdigits = "0123456789abcdef"
		b := []byte{}
		for _, c := range sps[1:4] {
			b = append(b, hexdigits[c>>4], hexdigits[c&0xf])
		}
		plid = string(b)
	}
	return "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + plid
}

// videoNegotiated reports whether the answer sends the video track.
func (ss *session) videoNegotiated() bool {
	return ss.videoSender != nil && len(ss.videoSender.GetParameters().Codecs) > 0
}

// onState follows the peer connection: connected starts the media,
// failed or closed ends the session.
func (ss *session) onState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateConnected:
		ss.connOnce.Do(func() { close(ss.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		ss.stop()
	default:
	}
}

// closeSetup releases what a session that never ran holds.
func (ss *session) closeSetup() {
	ss.stop()
	if ss.pc != nil {
		_ = ss.pc.Close()
	}
	if ss.release != nil {
		ss.release()
	}
	ss.doneOnce.Do(func() { close(ss.done) })
}

// run waits for the peer to connect, then sends the stream until the
// session ends, and cleans up.
func (ss *session) run() {
	s := ss.srv
	start := time.Now()
	var rtcp sync.WaitGroup
	for _, snd := range ss.senders {
		rtcp.Go(func() { drainRTCP(snd) })
	}
	reason := ss.waitConnected()
	if reason == "" {
		s.log.Info("viewer connected", "camera", ss.camera, "session", ss.id,
			"after", time.Since(start).Round(time.Millisecond))
		reason = ss.pump()
	}
	_ = ss.pc.Close()
	rtcp.Wait()
	ss.release()
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	s.log.Info("viewer gone", "camera", ss.camera, "session", ss.id, "reason", reason,
		"duration", time.Since(start).Round(time.Millisecond), "frames", ss.frames, "dropped", ss.dropped)
	if s.audit != nil && !ss.deleted.Load() {
		e := ss.viewer
		e.Action = audit.ActionLiveStop
		e.Detail = map[string]any{"via": "whep", "session": ss.id, "ended": reason}
		if err := s.audit.Record(context.Background(), e); err != nil {
			s.log.Error("audit record of a live view's end failed", "camera", ss.camera, "err", err)
		}
	}
	ss.doneOnce.Do(func() { close(ss.done) })
}

// waitConnected returns "" once connected, or why the session ends.
func (ss *session) waitConnected() string {
	t := time.NewTimer(ss.srv.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-ss.connected:
		return ""
	case <-ss.ctx.Done():
		return "closed before connecting"
	case <-t.C:
		return "connect timeout"
	}
}

// drainRTCP reads the sender's RTCP so the interceptors (NACK, reports)
// see it; it returns when the peer connection closes.
func drainRTCP(snd *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := snd.Read(buf); err != nil {
			return
		}
	}
}

// pump sends the stream's units until the session ends; it returns why.
func (ss *session) pump() string {
	q := stream.NewQueue(stream.QueueOptions{})
	_, gop := ss.st.GOP()
	replay := make(map[*media.AccessUnit]bool, len(gop))
	for _, au := range gop {
		replay[au] = true
	}
	ss.st.AddReader(q)
	defer func() {
		ss.st.RemoveReader(q)
		ss.dropped = q.Dropped()
	}()
	var at rtpWriter
	if ss.audioTrack != nil {
		at = ss.audioTrack
	}
	out := newSender(ss.videoTrack, at)
	video, audio := ss.video, ss.audio
	for {
		it, err := q.Next(ss.ctx)
		if err != nil {
			return "closed"
		}
		switch it.Kind {
		case stream.ItemBegin:
			video, audio = pickTracks(it.Tracks)
			out.restart()
		case stream.ItemEnd:
			out.restart()
		case stream.ItemUnit:
			au := it.Unit
			var err error
			switch au.Track {
			case video:
				var sent bool
				sent, err = out.video(au, replay[au])
				if sent {
					ss.frames++
				}
			case audio:
				err = out.audio(au, replay[au])
			}
			if errors.Is(err, io.ErrClosedPipe) {
				return "peer connection closed"
			}
		}
	}
}
