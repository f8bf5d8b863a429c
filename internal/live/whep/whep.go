// Package whep serves live video to browsers over WebRTC, signalled with
// WHEP (WebRTC-HTTP Egress Protocol): the browser POSTs an SDP offer, the
// hub answers with its SDP (ICE candidates included, no trickle) and sends
// the camera's H.264 video, and its Opus audio when it has some.
//
// Every viewer reads the camera's stream through its own stream.Queue, so
// a viewer that falls behind loses its own frames and never slows the
// camera or the other viewers. A viewer starts on the stream's kept GOP:
// its frames go out at once with squeezed timestamps, so the picture
// appears immediately and playback is live right after.
package whep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/vigil-video/vigil/internal/audit"
	"github.com/vigil-video/vigil/internal/stream"
)

// Streams gives the live stream a browser can play for a camera: H.264
// video (transcoded from H.265 when needed) and whatever audio it has.
// release is called once when the viewer goes.
type Streams interface {
	BrowserStream(cameraID string) (st *stream.Stream, release func(), err error)
}

// ICEServer is a STUN or TURN server offered to the hub's ICE agent.
type ICEServer struct {
	// URLs such as "stun:stun.example.org:3478" or "turn:host:3478".
	URLs []string
	// Username and Credential for TURN. Never logged.
	Username, Credential string
}

// Config configures the WHEP server. Zero values take the defaults.
type Config struct {
	// MaxSessions caps the viewers of the whole hub; past it a POST gets
	// 429. It defaults to 200.
	MaxSessions int
	// ICEServers are STUN/TURN servers. None by default: the hub serves a
	// LAN (and loopback) with host candidates only.
	ICEServers []ICEServer
	// UDPPortMin and UDPPortMax bound the UDP ports of the ICE agent, for
	// firewalls. Both 0 (the default) means ephemeral ports.
	UDPPortMin, UDPPortMax uint16
	// NAT1To1IPs are public addresses announced as host candidates, for a
	// hub behind a 1:1 NAT (e.g. a container). None by default.
	NAT1To1IPs []string
	// GatherTimeout bounds the wait for ICE gathering before answering.
	// It defaults to 2 s.
	GatherTimeout time.Duration
	// StartTimeout bounds the wait for the camera's stream to have tracks
	// (a transcode that is starting). It defaults to 5 s.
	StartTimeout time.Duration
	// ConnectTimeout ends a session whose peer never connects. It
	// defaults to 15 s.
	ConnectTimeout time.Duration
	// DisconnectTimeout and FailTimeout are the ICE agent's: no traffic for
	// DisconnectTimeout marks the connection disconnected, and for
	// FailTimeout failed, which ends the session. They default to 5 s and
	// 10 s.
	DisconnectTimeout, FailTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxSessions <= 0 {
		c.MaxSessions = 200
	}
	if c.GatherTimeout <= 0 {
		c.GatherTimeout = 2 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 5 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 15 * time.Second
	}
	if c.DisconnectTimeout <= 0 {
		c.DisconnectTimeout = 5 * time.Second
	}
	if c.FailTimeout <= 0 {
		c.FailTimeout = 10 * time.Second
	}
	return c
}

// Deps are the WHEP server's collaborators.
type Deps struct {
	// Streams gives each camera's browser stream. Required.
	Streams Streams
	// Logger is the component's logger (the caller names the component);
	// it defaults to discarding.
	Logger *slog.Logger
	// Audit, when set, gets a live_stop record for a session that ends
	// without a DELETE (ICE failure, connect timeout, shutdown); the API
	// records live_start and the DELETE's live_stop itself.
	Audit Auditor
}

// Auditor is the audit trail (an *audit.Log).
type Auditor interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Server answers WHEP requests and runs the viewer sessions.
type Server struct {
	cfg     Config
	streams Streams
	log     *slog.Logger
	audit   Auditor
	api     *webrtc.API
	apiErr  error

	mu       sync.Mutex
	ctx      context.Context // Run's; nil before Run and after it returns
	stopped  bool
	sessions map[string]*session
	wg       sync.WaitGroup
}

// New returns a Server; Run must be running for it to accept viewers.
func New(cfg Config, deps Deps) *Server {
	cfg = cfg.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, streams: deps.Streams, log: log, audit: deps.Audit, sessions: map[string]*session{}}
	s.api, s.apiErr = newAPI(cfg)
	return s
}

// Run accepts viewers until ctx ends, then closes every session and
// returns once they have all ended.
func (s *Server) Run(ctx context.Context) error {
	if s.apiErr != nil {
		return s.apiErr
	}
	if s.streams == nil {
		return errors.New("whep: Deps.Streams is required")
	}
	s.mu.Lock()
	if s.ctx != nil || s.stopped {
		s.mu.Unlock()
		return errors.New("whep: Run called twice")
	}
	s.ctx = ctx
	s.mu.Unlock()

	<-ctx.Done()

	s.mu.Lock()
	s.stopped = true
	s.ctx = nil
	for _, ss := range s.sessions {
		ss.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Sessions returns the number of viewer sessions, connecting or playing.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// newAPI builds the pion API: codecs, interceptors (NACK, RTCP reports)
// and the ICE settings.
func newAPI(cfg Config) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, fmt.Errorf("whep: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	// Loopback candidates are always offered: a browser on the hub's own
	// machine (vigil demo, tests) can only reach it over loopback, and
	// remote browsers simply never pair with them.
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(cfg.DisconnectTimeout, cfg.FailTimeout, time.Second)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, fmt.Errorf("whep: udp port range %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	if len(cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir),
		webrtc.WithSettingEngine(se)), nil
}

// videoFeedback is the RTCP feedback offered for H.264.
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
}

// h264Profiles are the H.264 profile-level-ids registered: constrained
// baseline, baseline, main and high, each up to level 5.0.
var h264Profiles = []string{"42e01f", "42001f", "4d001f", "640032", "42e032", "4d0032"}

func registerCodecs(me *webrtc.MediaEngine) error {
	for i, p := range h264Profiles {
		c := webrtc.RTPCodecParameters{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + p,
				RTCPFeedback: videoFeedback,
			},
			PayloadType: webrtc.PayloadType(102 + 2*i),
		}
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return fmt.Errorf("whep: register h264 %s: %w", p, err)
		}
	}
	opus := webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
	if err := me.RegisterCodec(opus, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("whep: register opus: %w", err)
	}
	return nil
}
