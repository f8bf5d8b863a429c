package app

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/camera"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/keys"
	"github.com/vigil-video/vigil/internal/retention"
	rtspsrc "github.com/vigil-video/vigil/internal/source/rtsp"
	"github.com/vigil-video/vigil/internal/stream"
)

// pullSource builds a camera's pull source.
func (h *hub) pullSource(cam index.Camera, st *stream.Stream, log *slog.Logger) camera.Runner {
	tr := cam.Transport
	if tr == "auto" {
		tr = ""
	}
	return rtspsrc.New(rtspsrc.Config{URL: cam.Source, Transport: tr}, st, log)
}

// buildComponents builds the API and the components that run beside the
// cameras.
func (h *hub) buildComponents(ctx context.Context) error {
	if err := h.buildAccountability(); err != nil {
		return err
	}
	gws, err := h.buildGateways()
	if err != nil {
		return err
	}
	h.extra = append(h.extra, h.watchRemoteSites(gws))
	routes := append(h.buildWatch(), keys.Routes(h.keys)...)
	routes = append(routes, gws.Routes()...)
	a, err := api.New(api.Config{}, api.Deps{
		Index: h.idx, Auth: h.auth, Runtime: runtime{h.cams}, Registry: h.reg,
		Logger: h.log.With("component", "api"), Ready: h.ready.Load,
		Routes: routes, Audit: h.audit,
	})
	if err != nil {
		return err
	}
	h.api = a
	sso, err := h.buildSSO()
	if err != nil {
		return err
	}
	h.handler = withGatewayEnroll(gws, h.uplinkHandler(gws), frontHandler(a.Handler(), sso))
	h.extra = append(h.extra, component{name: "gateways", run: gws.Run})
	rc := h.cfg.Retention
	ret := retention.New(retention.Config{
		Interval: rc.Interval.D(), Retention: time.Duration(rc.Days) * 24 * time.Hour,
		HighWatermark: rc.HighWatermark, LowWatermark: rc.LowWatermark, MaxBytes: uint64(rc.MaxBytes),
	}, retention.Deps{
		Index: h.idx, Blobs: h.blobs, Events: h.idx, DiskUsage: retention.StatfsUsage(h.blobs.Root()),
		Logger: h.log.With("component", "retention"),
	})
	h.extra = append(h.extra, component{name: "retention", run: ret.Run})
	host, _, _ := net.SplitHostPort(h.cfg.RTSP)
	h.rtsp, err = ingest.New(ingest.Config{Addr: h.cfg.RTSP, UDPAddr: net.JoinHostPort(host, "0"),
		TLSConfig: h.listenerTLS(h.cfg.RTSP)}, ingest.Deps{
		Auth: newRTSPAuth(h.auth, h.cams, gws), Streams: rtspStreams{h.cams}, Logger: h.log.With("component", "ingest"),
	})
	if err != nil {
		return err
	}
	h.extra = append(h.extra, component{name: "rtsp", run: h.rtsp.Run})
	return nil
}

// rtspAddr waits for the RTSP server to listen and returns its address.
func (h *hub) rtspAddr() string {
	select {
	case <-h.rtsp.Ready():
	case <-time.After(10 * time.Second):
	}
	if a := h.rtsp.Addr(); a != "" {
		return a
	}
	return h.cfg.RTSP
}

// runtime adapts camera.Manager to the API's Runtime.
type runtime struct{ m *camera.Manager }

func (r runtime) CameraStatus(id string) api.CameraStatus {
	s := r.m.Status(id)
	state := s.State
	if state == camera.StateUnknown {
		state = api.StateDisabled
	}
	return api.CameraStatus{State: state, FPS: s.FPS, Bitrate: s.Bitrate, LastFrame: s.LastFrame, Error: s.Error}
}

func (r runtime) CameraChanged(ctx context.Context, c index.Camera) { r.m.CameraChanged(ctx, c) }
func (r runtime) CameraRemoved(ctx context.Context, id string)      { r.m.CameraRemoved(ctx, id) }
