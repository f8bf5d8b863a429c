// Package ingest is the hub's RTSP server. It accepts publishers (ANNOUNCE
// and RECORD at rtsp://HOST:PORT/{camera_id}, over TCP or UDP) from
// gateways and cameras that push, and serves any camera's live stream to
// readers (DESCRIBE, SETUP, PLAY at the same path).
//
// Both directions authenticate with HTTP Basic credentials checked by an
// Authenticator; the camera's stream comes from a Streams lookup. A
// malformed request only ends its own connection.
package ingest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/auth"

	"github.com/vigil-video/vigil/internal/depacket"
	"github.com/vigil-video/vigil/internal/readbuf"
	"github.com/vigil-video/vigil/internal/rtspudp"
	"github.com/vigil-video/vigil/internal/stream"
)

// Action is what a client asks to do with a camera.
type Action int

// Actions checked by an Authenticator.
const (
	// ActionPublish is ANNOUNCE/RECORD: pushing the camera's video.
	ActionPublish Action = iota + 1
	// ActionRead is DESCRIBE/SETUP/PLAY: watching the camera live.
	ActionRead
)

// String returns "publish" or "read".
func (a Action) String() string {
	switch a {
	case ActionPublish:
		return "publish"
	case ActionRead:
		return "read"
	}
	return "unknown"
}

// Authenticator decides whether a client may act on a camera.
type Authenticator interface {
	// AuthenticateRTSP reports whether user/pass may perform action on
	// cameraID (the path without its slash). It must not block for long.
	AuthenticateRTSP(user, pass, cameraID string, action Action) bool
}

// Errors a Streams implementation wraps to choose the RTSP answer.
var (
	// ErrUnknownCamera: 404 Not Found.
	ErrUnknownCamera = errors.New("unknown camera")
	// ErrNotPushable: the camera is pulled by a source; 403 Forbidden.
	ErrNotPushable = errors.New("camera does not accept pushed video")
)

// Streams gives access to cameras' streams.
type Streams interface {
	// PushStream returns the stream a publisher writes for cameraID, or an
	// error wrapping ErrUnknownCamera or ErrNotPushable.
	PushStream(cameraID string) (*stream.Stream, error)
	// LiveStream returns cameraID's stream for re-streaming, or an error
	// wrapping ErrUnknownCamera.
	LiveStream(cameraID string) (*stream.Stream, error)
}

// Config configures the server. Zero values take the defaults.
type Config struct {
	// Addr is the RTSP (TCP) listen address. It defaults to
	// 127.0.0.1:8554; port 0 picks a free port (see Server.Addr).
	Addr string
	// UDPAddr enables the UDP transport: HOST:PORT with an even RTP port
	// (RTCP uses the next one), or HOST:0 to let the system pick a pair.
	// It defaults to "" (TCP only).
	UDPAddr string
	// TLSConfig, when set, makes the server speak RTSPS only (TCP, or
	// UDP with SRTP; plain RTP over UDP is refused). Default nil: RTSP.
	TLSConfig *tls.Config
	// ReadTimeout bounds reads, including the wait for a publisher's
	// packets. It defaults to 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds writes. It defaults to 10 s.
	WriteTimeout time.Duration
	// Depacket tunes depacketisation of published video; its Logger is
	// replaced by the server's.
	Depacket depacket.Options
}

// Observer hears about publish sessions, e.g. to keep a pushed camera's
// status. Its methods must not block.
type Observer interface {
	// PublishStarted is called when a publisher starts recording.
	PublishStarted(cameraID, user string)
	// PublishEnded is called when it stops; err says why when it was
	// dropped (a *depacket.ParamsError for unusable video,
	// depacket.ErrReplaced when another publisher took over), nil for an
	// orderly end or a lost connection.
	PublishEnded(cameraID string, err error)
}

// Deps are the server's collaborators.
type Deps struct {
	Auth    Authenticator
	Streams Streams
	// Observer is optional.
	Observer Observer
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
}

type nopObserver struct{}

// PublishStarted implements Observer.
func (nopObserver) PublishStarted(string, string) {}

// PublishEnded implements Observer.
func (nopObserver) PublishEnded(string, error) {}

// Server is the hub's RTSP server. Create it with New, run it with Run.
type Server struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	ready chan struct{}
	addr  atomic.Pointer[string]

	runCtx context.Context //nolint:containedctx // Run's context, for goroutines started by callbacks
	wg     sync.WaitGroup
	srv    *gortsplib.Server
}

// New validates cfg and deps.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Auth == nil || deps.Streams == nil {
		return nil, errors.New("ingest: Auth and Streams are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8554"
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Observer == nil {
		deps.Observer = nopObserver{}
	}
	log := deps.Logger.With("component", "ingest")
	return &Server{cfg: cfg, deps: deps, log: log, ready: make(chan struct{})}, nil
}

// Ready is closed once Run listens (Addr is then valid), or when Run
// returned without listening.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the TCP address the server listens on, or "" before.
func (s *Server) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// Run serves until ctx ends (returning nil) or the server fails. Every
// connection is closed and every goroutine has ended when it returns.
func (s *Server) Run(ctx context.Context) error {
	readyOnce := sync.OnceFunc(func() { close(s.ready) })
	defer readyOnce()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.runCtx = ctx
	srv, err := s.start()
	if err != nil {
		return err
	}
	addr := srv.NetListener().Addr().String()
	s.addr.Store(&addr)
	readyOnce()
	s.log.Info("rtsp server listening", "addr", addr, "udp", srv.UDPRTPAddress)

	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Wait() }()
	select {
	case <-ctx.Done():
		err = nil
	case err = <-srvErr:
		err = fmt.Errorf("ingest: rtsp server: %w", err)
	}
	cancel()
	srv.Close()
	s.wg.Wait()
	return err
}

func (s *Server) start() (*gortsplib.Server, error) {
	srv := &gortsplib.Server{
		Handler:      &handler{s: s},
		RTSPAddress:  s.cfg.Addr,
		TLSConfig:    s.cfg.TLSConfig,
		ReadTimeout:  s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout,
		// Basic only: the Authenticator checks plain credentials and the
		// hub stores no plaintext passwords for Digest.
		AuthMethods: []auth.VerifyMethod{auth.VerifyMethodBasic},
		// With TLSConfig, gortsplib wraps this listener in TLS, so the
		// large buffer also cuts the read syscalls of RTSPS.
		Listen: readbuf.Listen,
	}
	s.srv = srv // handlers use it as soon as Start accepts
	cleanup := func() {}
	if s.cfg.UDPAddr != "" {
		var err error
		if cleanup, err = rtspudp.Configure(srv, s.cfg.UDPAddr); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
	}
	if err := srv.Start(); err != nil {
		cleanup()
		return nil, fmt.Errorf("ingest: start rtsp server: %w", err)
	}
	return srv, nil
}

// go runs fn on a goroutine that Run waits for.
func (s *Server) goOwned(fn func(ctx context.Context)) {
	s.wg.Go(func() { fn(s.runCtx) })
}

// cameraID extracts the camera id from a request path.
func cameraID(path string) (string, bool) {
	id := strings.Trim(path, "/")
	if id == "" || strings.ContainsAny(id, "/?#") || len(id) > 256 {
		return "", false
	}
	return id, true
}
