package ingest

import (
	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
)

// connState is a connection's user data: the restreamer its DESCRIBE or
// SETUP prepared, and one whose PLAY awaits its response.
type connState struct {
	rs          *restreamer
	pendingPlay *restreamer
}

func stateOf(conn *gortsplib.ServerConn) *connState {
	if cs, ok := conn.UserData().(*connState); ok {
		return cs
	}
	cs := &connState{}
	conn.SetUserData(cs)
	return cs
}

// readerStream authorizes a reader and returns the connection's
// restreamer for the camera, preparing one if needed.
func (h *handler) readerStream(conn *gortsplib.ServerConn, req *base.Request, path string) (*restreamer, *base.Response, error) {
	camera, ok := cameraID(path)
	if !ok {
		return nil, respond(base.StatusBadRequest), nil
	}
	if _, err := h.authorize(conn, req, camera, ActionRead); err != nil {
		return nil, respond(base.StatusUnauthorized), err
	}
	st, err := h.s.deps.Streams.LiveStream(camera)
	if err != nil {
		return nil, respond(lookupStatus(err)), nil
	}
	cs := stateOf(conn)
	if cs.rs != nil && cs.rs.camera == camera && cs.rs.st == st {
		return cs.rs, nil, nil
	}
	if cs.rs != nil && cs.rs.unused() {
		cs.rs.stop()
	}
	cs.rs = newRestreamer(h.s, camera, st)
	return cs.rs, nil, nil
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	rs, res, err := h.readerStream(ctx.Conn, ctx.Request, ctx.Path)
	if rs == nil {
		return res, nil, err
	}
	ss := rs.serverStream()
	if ss == nil {
		return respond(base.StatusNotFound), nil, nil // camera not publishing
	}
	return respond(base.StatusOK), ss, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup, for publishers and
// readers.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if ctx.Session.State() == gortsplib.ServerSessionStatePreRecord {
		return respond(base.StatusOK), nil, nil
	}
	if rd, ok := ctx.Session.UserData().(*reader); ok { // further medias
		if ss := rd.rs.serverStream(); ss != nil {
			return respond(base.StatusOK), ss, nil
		}
		return respond(base.StatusNotFound), nil, nil
	}
	rs, res, err := h.readerStream(ctx.Conn, ctx.Request, ctx.Path)
	if rs == nil {
		return res, nil, err
	}
	ss := rs.serverStream()
	if ss == nil {
		return respond(base.StatusNotFound), nil, nil
	}
	rs.acquire()
	ctx.Session.SetUserData(&reader{camera: rs.camera, rs: rs})
	return respond(base.StatusOK), ss, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay. The reader joins the
// stream once the response is sent (OnResponse), when gortsplib has made
// the session an active reader.
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	rd, ok := ctx.Session.UserData().(*reader)
	if !ok {
		return respond(base.StatusBadRequest), nil
	}
	stateOf(ctx.Conn).pendingPlay = rd.rs
	return respond(base.StatusOK), nil
}

// OnResponse implements gortsplib.ServerHandlerOnResponse.
func (h *handler) OnResponse(conn *gortsplib.ServerConn, res *base.Response) {
	cs, ok := conn.UserData().(*connState)
	if !ok || cs.pendingPlay == nil {
		return
	}
	rs := cs.pendingPlay
	cs.pendingPlay = nil
	if res.StatusCode == base.StatusOK {
		rs.start()
	}
}
