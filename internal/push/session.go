package push

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/stream"
)

// queueFullPoll is how often a packet that did not fit gortsplib's write
// queue is offered again (the queue signals no room).
const queueFullPoll = 2 * time.Millisecond

// pusher is one Run.
type pusher struct {
	cfg   Config
	u     *base.URL
	safe  string
	log   *slog.Logger
	stats *Stats
}

// conns remembers a client's TCP connections so that they can be closed
// from outside: a stalled server then releases gortsplib at once (also a
// coalescer's flusher blocked writing to it, see coalesce.go).
type conns struct {
	run    context.Context //nolint:containedctx // Run's context: a dial in progress ends with it
	writes *atomic.Int64   // counts the connections' Writes
	mu     sync.Mutex
	c      []net.Conn
	closed bool
}

func (cs *conns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(cs.run, cancel)
	defer stop()
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	cs.c = append(cs.c, c)
	return &countedConn{Conn: c, writes: cs.writes}, nil
}

// countedConn counts a connection's Writes.
type countedConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (cs *conns) closeAll() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for _, c := range cs.c {
		_ = c.Close()
	}
}

// session is one RTSP RECORD session for one publisher session of the
// stream, started with tracks. It returns nil when the publisher left.
func (p *pusher) session(ctx context.Context, q *stream.Queue, tracks []media.Track) error {
	desc, outs := repacket.Describe(tracks, func(i int, err error) {
		p.log.Warn("track not pushed", "track", i, "codec", tracks[i].Codec.String(), "error", err.Error())
	})
	if desc == nil {
		return fmt.Errorf("%w (tracks %s)", ErrNoTracks, trackSummary(tracks))
	}
	cs := &conns{run: ctx, writes: &p.stats.Writes}
	stopConns := context.AfterFunc(ctx, cs.closeAll)
	defer stopConns()
	c := p.client(cs)
	if err := c.Start(); err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	if err := p.record(c, desc); err != nil {
		p.close(c, cs)
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { // ends once c is closed (deferred below)
		defer close(done)
		_ = c.Wait()
		cancel()
	}()
	defer func() {
		cancel()
		p.close(c, cs)
		<-done
	}()

	p.stats.Sessions.Add(1)
	p.stats.Live.Store(true)
	defer p.stats.Live.Store(false)
	p.log.Info("pushing", "tracks", trackSummary(tracks))
	s := &sender{p: p, c: c, outs: outs, video: videoTracks(tracks), reported: make([]bool, len(tracks))}
	return s.run(sctx, ctx, q, tracks)
}

func (p *pusher) client(cs *conns) *gortsplib.Client {
	tcp := gortsplib.ProtocolTCP
	log := p.log
	return &gortsplib.Client{
		Scheme: p.u.Scheme, Host: p.u.Host, TLSConfig: p.cfg.TLS, Protocol: &tcp,
		ReadTimeout: p.cfg.ReadTimeout, WriteTimeout: p.cfg.WriteTimeout,
		WriteQueueSize: p.cfg.WriteQueue, UserAgent: "vigil",
		DialContext:       cs.dialTCP,
		DialTLSContext:    cs.dialTLS(p.cfg.TLS),
		OnTransportSwitch: func(err error) { log.Debug("transport switch", "error", err.Error()) },
		OnPacketsLost:     func(uint64) {},
		OnDecodeError:     func(err error) { log.Debug("rtcp decode error", "error", err.Error()) },
	}
}

// record runs ANNOUNCE, SETUP and RECORD.
func (p *pusher) record(c *gortsplib.Client, desc *description.Session) error {
	if _, err := c.Announce(p.u, desc); err != nil {
		return fmt.Errorf("announce: %w", refusal(err))
	}
	if err := c.SetupAll(p.u, desc.Medias); err != nil {
		return fmt.Errorf("setup: %w", refusal(err))
	}
	if _, err := c.Record(); err != nil {
		return fmt.Errorf("record: %w", refusal(err))
	}
	return nil
}

// refusal classifies a refused request.
func refusal(err error) error {
	var bad liberrors.ErrClientBadStatusCode
	if !errors.As(err, &bad) {
		return err
	}
	if bad.Code == base.StatusUnauthorized {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

// close ends the session with a TEARDOWN, bounded by CloseTimeout.
func (p *pusher) close(c *gortsplib.Client, cs *conns) {
	t := time.AfterFunc(p.cfg.CloseTimeout, cs.closeAll)
	defer t.Stop()
	c.Close()
}

func videoTracks(tracks []media.Track) []bool {
	v := make([]bool, len(tracks))
	for i, t := range tracks {
		v[i] = t.IsVideo()
	}
	return v
}

func trackSummary(tracks []media.Track) string {
	s := ""
	for i, t := range tracks {
		if i > 0 {
			s += ","
		}
		s += t.Codec.String()
	}
	return s
}
