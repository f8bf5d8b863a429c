package ingest

import (
	"context"
	"errors"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/headers"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/depacket"
)

// handler implements gortsplib's server callbacks.
type handler struct{ s *Server }

// publisher is the state of a publishing session (its user data).
type publisher struct {
	camera    string
	user      string
	sink      *depacket.StreamSink
	dp        *depacket.Session
	recording bool // RECORD was accepted
}

// reader is the state of a reading session (its user data).
type reader struct {
	camera string
	rs     *restreamer
}

func respond(code base.StatusCode) *base.Response { return &base.Response{StatusCode: code} }

// credentials returns the Basic credentials of req, if any.
func credentials(req *base.Request) (user, pass string, ok bool) {
	var a headers.Authorization
	if err := a.Unmarshal(req.Header["Authorization"]); err != nil || a.Method != headers.AuthMethodBasic || a.Username == "" {
		return "", "", false
	}
	return a.Username, a.BasicPass, true
}

// authorize checks the request's credentials for action on camera. A
// request without credentials gets a challenge; wrong ones close the
// connection (gortsplib's handling of ErrServerAuth).
func (h *handler) authorize(conn *gortsplib.ServerConn, req *base.Request, camera string, action Action) (string, error) {
	user, pass, ok := credentials(req)
	if ok && h.s.deps.Auth.AuthenticateRTSP(user, pass, camera, action) {
		return user, nil
	}
	if ok {
		h.s.log.Warn("rtsp authentication failed", "camera", camera, "user", user,
			"action", action.String(), "remote", conn.NetConn().RemoteAddr().String())
	}
	return "", liberrors.ErrServerAuth{}
}

// OnAnnounce implements gortsplib.ServerHandlerOnAnnounce.
func (h *handler) OnAnnounce(ctx *gortsplib.ServerHandlerOnAnnounceCtx) (*base.Response, error) {
	camera, ok := cameraID(ctx.Path)
	if !ok {
		return respond(base.StatusBadRequest), nil
	}
	user, err := h.authorize(ctx.Conn, ctx.Request, camera, ActionPublish)
	if err != nil {
		return respond(base.StatusUnauthorized), err
	}
	st, err := h.s.deps.Streams.PushStream(camera)
	if err != nil {
		h.s.log.Info("publish refused", "camera", camera, "user", user, "error", err.Error())
		return respond(lookupStatus(err)), nil
	}
	sink := depacket.NewStreamSink(st)
	opts := h.s.cfg.Depacket
	opts.Logger = h.s.log.With("camera", camera)
	dp, err := depacket.New(ctx.Description, ctx.Session, sink, opts)
	if err != nil {
		h.s.log.Warn("publish refused: unusable media", "camera", camera, "user", user, "error", err.Error())
		h.s.deps.Observer.PublishEnded(camera, err)
		if errors.Is(err, depacket.ErrNoTracks) {
			return respond(base.StatusUnsupportedMediaType), nil
		}
		return respond(base.StatusBadRequest), nil
	}
	ctx.Session.SetUserData(&publisher{camera: camera, user: user, sink: sink, dp: dp})
	return respond(base.StatusOK), nil
}

func lookupStatus(err error) base.StatusCode {
	switch {
	case errors.Is(err, ErrUnknownCamera):
		return base.StatusNotFound
	case errors.Is(err, ErrNotPushable):
		return base.StatusForbidden
	}
	return base.StatusInternalServerError
}

// OnRecord implements gortsplib.ServerHandlerOnRecord.
func (h *handler) OnRecord(ctx *gortsplib.ServerHandlerOnRecordCtx) (*base.Response, error) {
	pub, ok := ctx.Session.UserData().(*publisher)
	if !ok {
		return respond(base.StatusBadRequest), nil
	}
	ctx.Session.OnPacketRTPAny(func(medi *description.Media, forma format.Format, pkt *rtp.Packet) {
		pub.dp.HandleRTP(medi, forma, pkt)
	})
	pub.recording = true
	session := ctx.Session
	h.s.goOwned(func(runCtx context.Context) { h.watchPublisher(runCtx, session, pub) })
	h.s.deps.Observer.PublishStarted(pub.camera, pub.user)
	h.s.log.Info("publisher started", "camera", pub.camera, "user", pub.user,
		"remote", ctx.Conn.NetConn().RemoteAddr().String(), "transport", sessionTransport(session))
	return respond(base.StatusOK), nil
}

// watchPublisher closes the session when its sink ends on its own (bad
// parameter sets, another publisher took over).
func (h *handler) watchPublisher(ctx context.Context, session *gortsplib.ServerSession, pub *publisher) {
	select {
	case <-ctx.Done():
		return
	case <-pub.sink.Done():
	}
	if err := pub.sink.Err(); err != nil {
		h.s.log.Warn("publisher dropped", "camera", pub.camera, "user", pub.user, "error", err.Error())
		session.Close()
	}
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	switch ud := ctx.Session.UserData().(type) {
	case *publisher:
		ud.sink.Close()
		if ud.recording {
			h.s.deps.Observer.PublishEnded(ud.camera, ud.sink.Err())
		}
		h.s.log.Info("publisher left", "camera", ud.camera, "user", ud.user,
			"units", ud.dp.Stats().Units, "reason", errString(ctx.Error))
	case *reader:
		ud.rs.release()
	}
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose.
func (h *handler) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	if cs, ok := ctx.Conn.UserData().(*connState); ok && cs.rs != nil && cs.rs.unused() {
		cs.rs.stop() // prepared by a DESCRIBE that no session used
	}
	h.s.log.Debug("rtsp connection closed", "remote", ctx.Conn.NetConn().RemoteAddr().String(),
		"reason", errString(ctx.Error))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sessionTransport(ss *gortsplib.ServerSession) string {
	if tr := ss.Transport(); tr != nil {
		return tr.Protocol.String()
	}
	return ""
}
