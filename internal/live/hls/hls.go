// Package hls serves live Low-Latency HLS (fMP4) of the cameras' live
// streams.
//
// One muxer per camera, shared by all its viewers, is a stream.Reader: the
// first playlist request starts it (AddReader replays the kept GOP, so the
// first, short segment is ready at once) and it is removed after
// Config.IdleTimeout without requests. The muxer turns access units into
// ~200 ms parts (one moof+mdat each) and ~2 s segments that start on
// keyframes, all held in memory (bounded by segment count and bytes).
//
// URLs, under /api/v1/cameras/{id}/:
//
//	live.m3u8                 media playlist; ?_HLS_msn=N[&_HLS_part=M] blocks until that part exists
//	live/init-{n}.mp4         init block (ftyp+moov); n changes when the publisher restarts
//	live/s{msn}.mp4           a complete segment
//	live/p{msn}.{part}.mp4    a part of segment msn
//
// No transcoding happens here: video is the camera's H.264 (or H.265, for
// players that decode it) and audio is its AAC track when it has one. Opus
// and G.711 are dropped from live HLS: hls.js and Safari do not play them
// in fMP4 reliably, and transcoding audio is not this package's job.
package hls

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/stream"
)

// Streams gives a camera's live stream in a codec browsers play (H.264; an
// H.265 camera gets a shared transcode).
type Streams interface {
	// BrowserStream returns the camera's stream and a release func that
	// the server calls once when it stops reading it. It must return
	// quickly (the server holds a lock while calling it).
	BrowserStream(cameraID string) (st *stream.Stream, release func(), err error)
}

// Config tunes the live HLS server. The zero value is usable.
type Config struct {
	// SegmentDuration is the target segment length: a segment is cut at
	// the first keyframe after it. It defaults to 2 s.
	SegmentDuration time.Duration
	// PartDuration is the LL-HLS part target. It defaults to 200 ms.
	PartDuration time.Duration
	// Segments is how many complete segments the playlist lists. Two more
	// stay fetchable for players that loaded an older playlist. It
	// defaults to 7.
	Segments int
	// MaxBytes caps the media a camera's muxer holds; the oldest segments
	// go first. It defaults to 32 MiB.
	MaxBytes int
	// IdleTimeout removes a camera's muxer when nobody requested its
	// playlist or media for that long. It defaults to 30 s.
	IdleTimeout time.Duration
	// StartTimeout is how long a playlist request waits for a first
	// segment of a camera that publishes but has sent no keyframe yet,
	// before answering 503 (a camera that does not publish answers 503 at
	// once). It defaults to 3 s.
	StartTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.SegmentDuration <= 0 {
		c.SegmentDuration = 2 * time.Second
	}
	if c.PartDuration <= 0 {
		c.PartDuration = 200 * time.Millisecond
	}
	if c.Segments <= 0 {
		c.Segments = 7
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 32 << 20
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 3 * time.Second
	}
	return c
}

// Deps are the server's collaborators.
type Deps struct {
	// Streams is required.
	Streams Streams
	// Logger defaults to discarding; the caller adds component=hls.
	Logger *slog.Logger
}

// Server serves live HLS for every camera.
type Server struct {
	cfg  Config
	deps Deps

	mu      sync.Mutex
	muxers  map[string]*entry
	stopped bool
}

// entry is one running muxer and what it reads.
type entry struct {
	m       *muxer
	st      *stream.Stream
	release func()
}

// New returns a server; Run owns its muxers.
func New(cfg Config, deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg.withDefaults(), deps: deps, muxers: map[string]*entry{}}
}

// Routes returns the live HLS routes, to be served through api.Deps.Routes.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/cameras/{id}/live.m3u8", Perm: auth.PermLive, Camera: true,
			Handler: s.servePlaylist},
		{Method: http.MethodGet, Path: "/api/v1/cameras/{id}/live/{file}", Perm: auth.PermLive, Camera: true,
			Handler: s.serveFile},
	}
}

// Run removes idle muxers until ctx ends, then stops every muxer and
// returns nil. Requests after that answer 503.
func (s *Server) Run(ctx context.Context) error {
	period := min(max(s.cfg.IdleTimeout/4, 10*time.Millisecond), 5*time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.stopAll()
			return nil
		case now := <-t.C:
			s.reap(now)
		}
	}
}
