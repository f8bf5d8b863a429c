// Package sim simulates cameras: an RTSP server that serves N cameras,
// each looping a clip in real time with continuous timestamps, and a load
// generator (Push) that publishes N streams to a hub.
//
// The clip is packetised once; every camera sends the same RTP payloads
// with its own sequence numbers and timestamps, so N cameras cost little
// more than one. A camera nobody watches sends nothing.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

	"github.com/vigil-video/vigil/internal/rtspudp"
)

// Config configures a simulator. Zero values take the defaults.
type Config struct {
	// Addr is the RTSP listen address. It defaults to 127.0.0.1:8554; port
	// 0 picks a free port (see Sim.Addr).
	Addr string
	// Cameras is the number of cameras, served at /cam1 ... /camN. It
	// defaults to 1.
	Cameras int
	// Names, when set, are the cameras' paths (without the leading slash)
	// instead of cam1...camN.
	Names []string
	// Clip is the looped clip. It defaults to the embedded clip.
	Clip *Clip
	// UDP also offers the UDP transport, on two consecutive ports picked
	// by the system on Addr's host. By default only TCP is offered.
	UDP bool
	// User and Pass, when User is set, are required of readers.
	User, Pass string
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

// Sim is a camera simulator. Create it with New and serve with Run.
type Sim struct {
	cfg   Config
	clip  *Clip
	pkts  *packetizedClip
	log   *slog.Logger
	ready chan struct{}
	addr  atomic.Pointer[string]

	mu      sync.RWMutex // guards cameras' streams while they are set up
	cameras map[string]*camera
	order   []*camera
}

// New validates cfg and packetises the clip.
func New(cfg Config) (*Sim, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8554"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	names, err := cameraNames(cfg)
	if err != nil {
		return nil, err
	}
	c := cfg.Clip
	if c == nil {
		if c, err = DefaultClip(); err != nil {
			return nil, err
		}
	}
	pkts, err := packetize(c, maxPayload)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Sim{
		cfg: cfg, clip: c, pkts: pkts, log: cfg.Logger.With("component", "sim"),
		ready: make(chan struct{}), cameras: make(map[string]*camera),
	}
	for _, n := range names {
		cam := &camera{name: n}
		s.cameras[n] = cam
		s.order = append(s.order, cam)
	}
	return s, nil
}

func cameraNames(cfg Config) ([]string, error) {
	if len(cfg.Names) > 0 {
		seen := map[string]bool{}
		for _, n := range cfg.Names {
			if n == "" || strings.ContainsAny(n, "?# ") || seen[n] {
				return nil, fmt.Errorf("sim: invalid or duplicate camera name %q", n)
			}
			seen[n] = true
		}
		return cfg.Names, nil
	}
	n := cfg.Cameras
	if n <= 0 {
		n = 1
	}
	names := make([]string, n)
	for i := range names {
		names[i] = "cam" + strconv.Itoa(i+1)
	}
	return names, nil
}

// Ready is closed once Run listens (Addr is then valid), or when Run
// returned without listening.
func (s *Sim) Ready() <-chan struct{} { return s.ready }

// Addr returns the address the server listens on, or "" before it does.
func (s *Sim) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// Clip returns the clip being served.
func (s *Sim) Clip() *Clip { return s.clip }

// URL returns the rtsp:// URL of a camera (credentials not included).
func (s *Sim) URL(name string) string { return "rtsp://" + s.Addr() + "/" + name }

// Names returns the cameras' paths.
func (s *Sim) Names() []string {
	names := make([]string, len(s.order))
	for i, c := range s.order {
		names[i] = c.name
	}
	return names
}

// Run serves the cameras until ctx ends. It returns nil then, or an error
// when the server cannot start or fails.
func (s *Sim) Run(ctx context.Context) error {
	readyOnce := sync.OnceFunc(func() { close(s.ready) })
	defer readyOnce()
	srv, err := s.startServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := s.initStreams(srv); err != nil {
		return err
	}
	defer s.closeStreams()
	addr := srv.NetListener().Addr().String()
	s.addr.Store(&addr)
	readyOnce()
	s.log.Info("serving simulated cameras", "addr", addr, "cameras", len(s.order),
		"width", s.clip.Width, "height", s.clip.Height, "fps", s.clip.FPS)

	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Wait() }()
	err = s.feed(ctx, srvErr)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *Sim) startServer() (*gortsplib.Server, error) {
	srv := &gortsplib.Server{
		Handler:     &handler{s: s},
		RTSPAddress: s.cfg.Addr,
	}
	cleanup := func() {}
	if s.cfg.UDP {
		var err error
		if cleanup, err = rtspudp.Configure(srv, udpAny(s.cfg.Addr)); err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
	}
	if err := srv.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("sim: start rtsp server: %w", err)
	}
	return srv, nil
}

func (s *Sim) initStreams(srv *gortsplib.Server) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cam := range s.order {
		if err := cam.init(srv, s.clip); err != nil {
			return fmt.Errorf("sim: camera %s: %w", cam.name, err)
		}
	}
	return nil
}

func (s *Sim) closeStreams() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, cam := range s.order {
		if cam.stream != nil {
			cam.stream.Close()
		}
	}
}

// feed sends the clip's frames in real time to every watched camera.
func (s *Sim) feed(ctx context.Context, srvErr <-chan error) error {
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	frames := s.pkts.frames
	for n := int64(0); ; n++ {
		loop, idx := n/int64(len(frames)), n%int64(len(frames))
		f := &frames[idx]
		offset := loop * s.pkts.duration
		at := start.Add(ticks(offset + f.dts))
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			return nil
		case err := <-srvErr:
			return fmt.Errorf("sim: rtsp server: %w", err)
		case <-timer.C:
		}
		ntp := start.Add(ticks(offset + f.pts))
		for _, cam := range s.order {
			cam.send(f, offset+f.pts, ntp)
		}
	}
}

func ticks(t int64) time.Duration {
	return time.Duration(t) * time.Second / ClockRate
}

// camera is one simulated camera.
type camera struct {
	name    string
	stream  *gortsplib.ServerStream
	medi    *description.Media
	readers atomic.Int32
	sender  rtpSender
}

func (c *camera) init(srv *gortsplib.Server, clip *Clip) error {
	c.medi = &description.Media{
		Type: description.MediaTypeVideo,
		Formats: []format.Format{&format.H264{
			PayloadTyp: payloadType, SPS: clip.SPS, PPS: clip.PPS, PacketizationMode: 1,
		}},
	}
	c.stream = &gortsplib.ServerStream{Server: srv, Desc: &description.Session{Medias: []*description.Media{c.medi}}}
	if err := c.stream.Initialize(); err != nil {
		return err
	}
	c.sender.init()
	return nil
}

func (c *camera) send(f *packetFrame, pts int64, ntp time.Time) {
	if c.readers.Load() <= 0 {
		c.sender.skip(f)
		return
	}
	c.sender.send(f, pts, func(p *rtpPacket) error {
		return c.stream.WritePacketRTPWithNTP(c.medi, p, ntp)
	})
}

// handler answers the RTSP requests.
type handler struct{ s *Sim }

func (h *handler) lookup(path string) *camera {
	h.s.mu.RLock()
	defer h.s.mu.RUnlock()
	cam := h.s.cameras[strings.Trim(path, "/")]
	if cam == nil || cam.stream == nil {
		return nil
	}
	return cam
}

func (h *handler) authorize(sc *gortsplib.ServerConn, req *base.Request) error {
	if h.s.cfg.User == "" || sc.VerifyCredentials(req, h.s.cfg.User, h.s.cfg.Pass) {
		return nil
	}
	return liberrors.ErrServerAuth{}
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe.
func (h *handler) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if err := h.authorize(ctx.Conn, ctx.Request); err != nil {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, err
	}
	cam := h.lookup(ctx.Path)
	if cam == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, cam.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (h *handler) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if err := h.authorize(ctx.Conn, ctx.Request); err != nil {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, err
	}
	cam := h.lookup(ctx.Path)
	if cam == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, cam.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay.
func (h *handler) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	cam := h.lookup(ctx.Path)
	if cam == nil {
		return &base.Response{StatusCode: base.StatusNotFound}, nil
	}
	if ctx.Session.UserData() == nil {
		ctx.Session.SetUserData(cam)
		cam.readers.Add(1)
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose.
func (h *handler) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	if cam, ok := ctx.Session.UserData().(*camera); ok {
		cam.readers.Add(-1)
	}
}

// errNoFrames is returned for a clip without frames.
var errNoFrames = errors.New("clip has no frames") //nolint:gochecknoglobals // sentinel

// udpAny is addr's host with port 0: a system-chosen UDP port pair.
func udpAny(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(host, "0")
}
