// Package push forwards one camera's live stream to a remote RTSP server
// (the hub's ingest) with RTSP RECORD: ANNOUNCE, SETUP and RECORD over
// TCP, inside TLS for rtsps://, with gortsplib's client.
//
// Run reads the camera's stream.Stream through a bounded stream.Queue, so
// a slow or stalled uplink drops (and counts) frames in that queue and
// resumes at a keyframe; it never blocks the camera's publisher. Units are
// packetised by package repacket with RTP timestamps from their PTS, and
// RTCP sender reports map those to the units' wall time, so the hub sees
// the camera's clock. Run never retries: run it under package supervise.
// Credentials never appear in logs or errors.
package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/base"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/source/rtsp"
	"github.com/vigil-video/vigil/internal/stream"
	"github.com/vigil-video/vigil/internal/supervise"
)

// Errors Run wraps; branch on them with errors.Is.
var (
	// ErrInvalidURL: the URL can never work (returned as a
	// supervise.Permanent error).
	ErrInvalidURL = errors.New("invalid rtsp url")
	// ErrUnauthorized: the server refused the credentials (401).
	ErrUnauthorized = errors.New("server refused the credentials")
	// ErrRefused: the server refused the publish with another status
	// (404 unknown camera, 403 camera not pushable, 415 codec, ...).
	ErrRefused = errors.New("server refused the publish")
	// ErrTracksChanged: a new publisher session on the stream has other
	// tracks; the caller starts Run again to announce them.
	ErrTracksChanged = errors.New("the stream's tracks changed")
	// ErrNoTracks: none of the stream's tracks can be sent.
	ErrNoTracks = errors.New("no track can be sent")
)

// Config configures a push. Zero values take the defaults.
type Config struct {
	// URL is the server's rtsp:// or rtsps:// address with the camera's
	// path, e.g. rtsps://hub:8554/gate-1. Credentials in it are used when
	// User is empty.
	URL string
	// User and Pass are the RTSP credentials (the gateway id and its
	// credential). They are never logged.
	User, Pass string
	// TLS is the client TLS config for rtsps:// (the caller pins the
	// server's certificate with VerifyPeerCertificate). It defaults to
	// nil: the system roots verify the server.
	TLS *tls.Config
	// QueueUnits and QueueBytes bound the stream reader's queue: past
	// them frames are dropped until the next keyframe. They default to
	// 512 units and 8 MiB.
	QueueUnits, QueueBytes int
	// WriteQueue is the number of RTP packets gortsplib buffers for the
	// socket, rounded up to a power of two. It defaults to 1024.
	WriteQueue int
	// ReadTimeout bounds the wait for each response. It defaults to 10 s.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to the socket: a server that takes
	// nothing for this long ends the push. It defaults to 10 s.
	WriteTimeout time.Duration
	// CloseTimeout bounds the orderly TEARDOWN when a session ends. It
	// defaults to 1 s.
	CloseTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.QueueUnits <= 0 {
		c.QueueUnits = 512
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 8 << 20
	}
	if c.WriteQueue <= 0 {
		c.WriteQueue = 1024
	}
	c.WriteQueue = 1 << bits.Len(uint(c.WriteQueue-1)) // gortsplib wants a power of two
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = time.Second
	}
	return c
}

// Stats counts a camera's push across Runs (share one Stats between the
// Runs of a supervisor). All fields are safe for concurrent use.
type Stats struct {
	// Live is true while a RECORD session is up.
	Live atomic.Bool
	// Sessions counts RECORD sessions started.
	Sessions atomic.Int64
	// Frames counts video frames sent; Units counts all units sent.
	Frames, Units atomic.Int64
	// Bytes counts the sent units' payload bytes (before RTP).
	Bytes atomic.Int64
	// Packets counts the RTP packets sent; Writes counts the writes to
	// the socket (requests and packets, coalesced: see coalesce.go).
	Packets, Writes atomic.Int64
	// Dropped counts units dropped because the uplink was too slow (the
	// queue was full, then until the next keyframe).
	Dropped atomic.Int64
}

// Run pushes st's live tracks (video, and audio that package repacket
// supports) to cfg.URL until ctx ends (returning nil) or the connection
// fails (returning why). It waits for the stream's tracks, announces
// them and starts at a keyframe. When the stream's publisher leaves, the
// RTSP session ends and Run waits for the next publisher; one with other
// tracks ends Run with ErrTracksChanged. log and stats may be nil.
func Run(ctx context.Context, st *stream.Stream, cfg Config, log *slog.Logger, stats *Stats) error {
	cfg = cfg.withDefaults()
	safe := rtsp.RedactURL(cfg.URL)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if stats == nil {
		stats = &Stats{}
	}
	u, err := target(cfg)
	if err != nil {
		return supervise.Permanent(fmt.Errorf("push %s: %w", safe, err))
	}
	p := &pusher{cfg: cfg, u: u, safe: safe, log: log.With("component", "push", "url", safe), stats: stats}
	q := stream.NewQueue(stream.QueueOptions{MaxUnits: cfg.QueueUnits, MaxBytes: cfg.QueueBytes})
	r := &reader{q: q, stats: stats}
	st.AddReader(r)
	defer st.RemoveReader(r)
	defer stats.Live.Store(false)
	err = p.loop(ctx, q)
	if ctx.Err() != nil {
		return nil
	}
	return p.redact(fmt.Errorf("push %s: %w", safe, err))
}

// target parses cfg.URL and sets the credentials.
func target(cfg Config) (*base.URL, error) {
	u, err := base.ParseURL(cfg.URL)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return nil, ErrInvalidURL
	}
	if cfg.User != "" {
		u.User = url.UserPassword(cfg.User, cfg.Pass)
	}
	return u, nil
}

// loop runs one RTSP session per publisher session of the stream.
func (p *pusher) loop(ctx context.Context, q *stream.Queue) error {
	var first []media.Track
	for {
		tracks, err := waitBegin(ctx, q)
		if err != nil {
			return err
		}
		if first != nil && !repacket.SameTracks(first, tracks) {
			return ErrTracksChanged
		}
		first = tracks
		if err := p.session(ctx, q, tracks); err != nil {
			return err
		}
	}
}

// waitBegin skips queued items up to the next publisher session's start.
func waitBegin(ctx context.Context, q *stream.Queue) ([]media.Track, error) {
	for {
		it, err := q.Next(ctx)
		if err != nil {
			return nil, err
		}
		if it.Kind == stream.ItemBegin {
			return it.Tracks, nil
		}
	}
}
