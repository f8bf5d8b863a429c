// Package rtsp pulls one camera over RTSP into a stream.Stream.
//
// A Source connects (DESCRIBE, SETUP, PLAY) with gortsplib's client over
// TCP or UDP, depacketises with package depacket, publishes into its
// stream, and returns when the connection fails or ends. It never retries:
// run it under package supervise. Credentials in the URL never appear in
// logs or errors.
package rtsp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/depacket"
	"github.com/vigil-video/vigil/internal/readbuf"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// Transports accepted by Config.Transport.
const (
	TransportAuto = ""
	TransportTCP  = "tcp"
	TransportUDP  = "udp"
)

// ErrInvalidURL is returned (wrapped, as a supervise.Permanent error) for
// a URL that can never work.
var ErrInvalidURL = errors.New("invalid rtsp url")

// Config configures a Source. Zero values take the defaults.
type Config struct {
	// URL of the camera, rtsp:// or rtsps://, credentials included.
	URL string
	// Transport is "tcp", "udp", or "" to try UDP first and fall back to
	// TCP (gortsplib's choice). It defaults to "".
	Transport string
	// ReadTimeout bounds every read, including the wait for media once
	// playing. It defaults to 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds every write. It defaults to 10 s.
	WriteTimeout time.Duration
	// Depacket tunes depacketisation (picture size bounds, clock jumps);
	// its Logger is replaced by the source's.
	Depacket depacket.Options
}

// Status is a snapshot of a source for the camera's status.
type Status struct {
	// Playing is true while connected and playing.
	Playing bool
	// Since is when Playing last changed.
	Since time.Time
	// Err is the error that ended the last attempt (nil if none yet). A
	// *depacket.ParamsError means the camera sends unusable video.
	Err error
	// ErrAt is when Err happened.
	ErrAt time.Time
	// Stats of the current or last session.
	Stats depacket.Stats
}

// Source pulls one camera. Create it with New and run it with Run.
type Source struct {
	cfg  Config
	st   *stream.Stream
	log  *slog.Logger
	safe string // the URL without credentials

	mu     sync.Mutex
	status Status
	dp     *depacket.Session
}

// New returns a source that publishes cfg.URL into st.
func New(cfg Config, st *stream.Stream, logger *slog.Logger) *Source {
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	safe := RedactURL(cfg.URL)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: cfg, st: st, safe: safe, log: logger.With("component", "source/rtsp", "url", safe)}
}

// Status returns the source's current status.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if s.dp != nil {
		st.Stats = s.dp.Stats()
	}
	return st
}

// LastError returns the error that ended the last attempt, or nil.
func (s *Source) LastError() error { return s.Status().Err }

// Run connects and publishes until ctx ends (returning nil) or the
// connection fails or ends (returning why). An invalid URL or transport
// returns a supervise.Permanent error.
func (s *Source) Run(ctx context.Context) error {
	err := s.run(ctx)
	s.setPlaying(false)
	if err != nil && ctx.Err() == nil {
		err = redactError(fmt.Errorf("rtsp %s: %w", s.safe, err), s.cfg.URL)
		s.setErr(err)
		return err
	}
	return nil
}

func (s *Source) run(ctx context.Context) error {
	u, proto, err := s.parse()
	if err != nil {
		return supervise.Permanent(err)
	}
	c := &gortsplib.Client{
		Scheme: u.Scheme, Host: u.Host, Protocol: proto,
		ReadTimeout: s.cfg.ReadTimeout, WriteTimeout: s.cfg.WriteTimeout,
		UserAgent: "vigil", DialContext: readbuf.DialContext,
	}
	if err := c.Start(); err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()

	sink := depacket.NewStreamSink(s.st)
	defer sink.Close()
	if err := s.play(c, u, sink); err != nil {
		return err
	}
	s.setPlaying(true)
	return s.wait(ctx, c, sink)
}

// play runs DESCRIBE, SETUP and PLAY and hooks the packets to sink.
func (s *Source) play(c *gortsplib.Client, u *base.URL, sink *depacket.StreamSink) error {
	desc, _, err := c.Describe(u)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	opts := s.cfg.Depacket
	opts.Logger = s.log
	dp, err := depacket.New(desc, c, sink, opts)
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	s.mu.Lock()
	s.dp = dp
	s.mu.Unlock()
	for _, medi := range dp.Medias() {
		if _, err := c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
			return fmt.Errorf("setup: %w", err)
		}
	}
	c.OnPacketRTPAny(func(medi *description.Media, forma format.Format, pkt *rtp.Packet) {
		dp.HandleRTP(medi, forma, pkt)
	})
	if _, err := c.Play(nil); err != nil {
		return fmt.Errorf("play: %w", err)
	}
	s.log.Info("playing", "tracks", trackSummary(dp), "transport", transportName(c))
	return nil
}

// wait blocks until the connection ends, the sink fails, or ctx ends.
func (s *Source) wait(ctx context.Context, c *gortsplib.Client, sink *depacket.StreamSink) error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err := <-done:
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("connection: %w", err)
	case <-sink.Done():
		c.Close()
		<-done
		return sink.Err()
	}
}

func (s *Source) parse() (*base.URL, *gortsplib.Protocol, error) {
	u, err := base.ParseURL(s.cfg.URL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return nil, nil, ErrInvalidURL
	}
	var proto *gortsplib.Protocol
	switch strings.ToLower(s.cfg.Transport) {
	case TransportAuto:
	case TransportTCP:
		p := gortsplib.ProtocolTCP
		proto = &p
	case TransportUDP:
		p := gortsplib.ProtocolUDP
		proto = &p
	default:
		return nil, nil, fmt.Errorf("invalid transport %q (want tcp, udp or empty)", s.cfg.Transport)
	}
	return u, proto, nil
}

func (s *Source) setPlaying(p bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status.Playing != p {
		s.status.Playing, s.status.Since = p, time.Now()
	}
}

func (s *Source) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Err, s.status.ErrAt = err, time.Now()
}

func trackSummary(dp *depacket.Session) string {
	var b strings.Builder
	for i, t := range dp.Tracks() {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(t.Codec.String())
		if t.Width > 0 {
			fmt.Fprintf(&b, "(%dx%d)", t.Width, t.Height)
		}
	}
	return b.String()
}

func transportName(c *gortsplib.Client) string {
	if tr := c.Transport(); tr != nil && tr.Session != nil {
		return strings.ToLower(tr.Session.Protocol.String())
	}
	return "unknown"
}
