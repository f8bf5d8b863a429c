package whep

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/stream"
)

// maxOffer bounds an SDP offer's size.
const maxOffer = 64 << 10

// handlePost answers an SDP offer: 201 with the SDP answer and the
// session's Location.
func (s *Server) handlePost(w http.ResponseWriter, r *http.Request, req api.Request) {
	offer, status, msg := readOffer(r)
	if status != 0 {
		api.WriteError(w, status, msg)
		return
	}
	ss, status, msg := s.reserve(req.Camera.ID, req.Principal.Username)
	if status != 0 {
		api.WriteError(w, status, msg)
		return
	}
	ss.viewer = audit.Entry{User: req.Principal.Username, Role: string(req.Principal.Role),
		Camera: req.Camera.ID, Site: req.Camera.Site, Remote: api.RemoteIP(r)}
	answer, status, msg := s.setup(r.Context(), ss, offer)
	if status != 0 {
		s.unreserve(ss)
		api.WriteError(w, status, msg)
		return
	}
	if !s.start(ss) {
		api.WriteError(w, http.StatusServiceUnavailable, "live view is shutting down")
		return
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", strings.NewReplacer("{id}", ss.camera, "{session}", ss.id).Replace(pathSession))
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// readOffer checks the content type and parses the body as an SDP offer.
func readOffer(r *http.Request) (offer string, status int, msg string) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/sdp" {
		return "", http.StatusUnsupportedMediaType, "the offer must be Content-Type application/sdp"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxOffer+1))
	switch {
	case err != nil:
		return "", http.StatusBadRequest, "cannot read the offer"
	case len(body) > maxOffer:
		return "", http.StatusRequestEntityTooLarge, "the offer is too large"
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err != nil {
		return "", http.StatusBadRequest, "the offer is not valid SDP"
	}
	video := false
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media == "video" {
			video = true
		}
	}
	if !video {
		return "", http.StatusBadRequest, "the offer has no video media section"
	}
	return string(body), 0, ""
}

// reserve claims a session slot under the hub-wide cap.
func (s *Server) reserve(camera, owner string) (*session, int, string) {
	id, err := newID()
	if err != nil {
		return nil, http.StatusInternalServerError, "internal error"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		return nil, http.StatusServiceUnavailable, "live view is not running"
	}
	if len(s.sessions) >= s.cfg.MaxSessions {
		return nil, http.StatusTooManyRequests, "too many live viewers on this hub"
	}
	ss := newSession(s, id, camera, owner)
	s.sessions[id] = ss
	return ss, 0, ""
}

func (s *Server) unreserve(ss *session) {
	ss.closeSetup()
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
}

// start runs a set-up session on a goroutine owned by Run.
func (s *Server) start(ss *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		delete(s.sessions, ss.id)
		ss.closeSetup()
		return false
	}
	s.wg.Go(ss.run)
	return true
}

// setup acquires the camera's stream, builds the peer connection and
// returns the SDP answer with its gathered candidates.
func (s *Server) setup(ctx context.Context, ss *session, offer string) (string, int, string) {
	st, release, err := s.streams.BrowserStream(ss.camera)
	if err != nil {
		s.log.Info("no browser stream", "camera", ss.camera, "err", err)
		return "", http.StatusServiceUnavailable, "the camera is not streaming"
	}
	ss.st, ss.release = st, release
	tracks, err := waitTracks(ctx, st, s.cfg.StartTimeout)
	if err != nil {
		return "", http.StatusServiceUnavailable, "the camera is not streaming"
	}
	video, audio := pickTracks(tracks)
	if video < 0 {
		return "", http.StatusServiceUnavailable, "the camera has no H.264 video for browsers"
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{ICEServers: iceServers(s.cfg.ICEServers)})
	if err != nil {
		return "", http.StatusInternalServerError, "internal error"
	}
	ss.pc = pc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", http.StatusBadRequest, "the offer was refused: " + err.Error()
	}
	if err := ss.addTracks(tracks[video], audio >= 0); err != nil {
		return "", http.StatusBadRequest, err.Error()
	}
	pc.OnConnectionStateChange(ss.onState)
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", http.StatusBadRequest, "cannot answer the offer: " + err.Error()
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", http.StatusBadRequest, "cannot answer the offer: " + err.Error()
	}
	if !ss.videoNegotiated() {
		return "", http.StatusBadRequest, "the offer does not accept H.264 (packetization-mode 1)"
	}
	t := time.NewTimer(s.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C: // answer with what was gathered so far
	case <-ctx.Done():
		return "", http.StatusServiceUnavailable, "request cancelled"
	}
	ss.video, ss.audio = video, audio
	return pc.LocalDescription().SDP, 0, ""
}

// waitTracks waits for the stream to have a publisher (a transcode that
// is starting gets StartTimeout).
func waitTracks(ctx context.Context, st *stream.Stream, d time.Duration) ([]media.Track, error) {
	deadline := time.Now().Add(d)
	for {
		if tracks := st.Tracks(); tracks != nil {
			return tracks, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("stream has no publisher")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// pickTracks returns the H.264 video track and the Opus audio track, -1
// when absent. AAC and G.711 audio are not sent: browsers' WebRTC does not
// take AAC, and G.711 would need resampling to be worth it.
func pickTracks(tracks []media.Track) (video, audio int) {
	video, audio = -1, -1
	for i, t := range tracks {
		switch {
		case t.Codec == media.CodecH264 && video < 0:
			video = i
		case t.Codec == media.CodecOpus && audio < 0:
			audio = i
		}
	}
	return video, audio
}

func iceServers(in []ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, len(in))
	for i, s := range in {
		out[i] = webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential}
	}
	return out
}

func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
