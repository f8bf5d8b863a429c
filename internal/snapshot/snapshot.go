// Package snapshot serves GET /api/v1/cameras/{id}/snapshot.jpg: one
// decoded frame of a camera as JPEG, either live (the last frame of the
// stream's kept GOP) or at a recorded time (?at=, the frame shown at that
// instant).
//
// Decoding runs the ffmpeg program once per request; nothing runs while
// nobody asks. At most Config.MaxConcurrent ffmpeg processes run at once:
// a request that finds them all busy waits up to Config.QueueWait and is
// then answered 429.
package snapshot

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/stream"
)

// Config tunes the service. Zero values take the defaults.
type Config struct {
	// FFmpeg is the ffmpeg program. It defaults to "ffmpeg" (looked up in
	// PATH).
	FFmpeg string
	// MaxConcurrent bounds the ffmpeg processes running at once. It
	// defaults to 4.
	MaxConcurrent int
	// Timeout bounds one decode. It defaults to 10 s.
	Timeout time.Duration
	// QueueWait is how long a request waits for a free decoder before it
	// is answered 429. It defaults to 2 s.
	QueueWait time.Duration
}

func (c Config) withDefaults() Config {
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.QueueWait <= 0 {
		c.QueueWait = 2 * time.Second
	}
	return c
}

// Streams gives the live stream of a camera; *camera.Manager implements it.
type Streams interface {
	Stream(cameraID string) (*stream.Stream, bool)
}

// Index finds recorded segments; *sqlite.Store implements it.
type Index interface {
	Segments(ctx context.Context, camera string, from, to time.Time) ([]index.Segment, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Streams Streams
	Index   Index
	Blobs   blob.Store
	// Logger defaults to discarding; the caller adds identity attributes
	// (component=snapshot).
	Logger *slog.Logger
}

// Service answers snapshot requests.
type Service struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	// sem holds one token per running ffmpeg process.
	sem chan struct{}
	// running counts ffmpeg processes alive now; peak is its maximum.
	running atomic.Int32
	peak    atomic.Int32
}

// New returns a service. It starts nothing.
func New(cfg Config, deps Deps) *Service {
	cfg = cfg.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, deps: deps, log: log,
		sem: make(chan struct{}, cfg.MaxConcurrent)}
}

// Routes returns the snapshot route for the API.
func (s *Service) Routes() []api.Route {
	return []api.Route{{
		Method: "GET", Path: "/api/v1/cameras/{id}/snapshot.jpg",
		Perm: auth.PermLive, Camera: true, Handler: s.serveSnapshot,
	}}
}
