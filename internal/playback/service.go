package playback

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"time"

	"github.com/vigil-video/vigil/internal/api"
	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/index"
)

// Index is the part of the recordings index playback reads.
type Index interface {
	// Segments returns the camera's non-deleting segments overlapping
	// [from, to), ordered by Start, with fragments.
	Segments(ctx context.Context, camera string, from, to time.Time) ([]index.Segment, error)
	// GetSegment returns one segment in any state (index.ErrNotFound).
	GetSegment(ctx context.Context, id int64) (index.Segment, error)
	// Gaps returns the camera's explicit gaps overlapping [from, to).
	Gaps(ctx context.Context, camera string, from, to time.Time) ([]index.Gap, error)
}

var _ Index = index.Index(nil)

// Deps are the service's collaborators.
type Deps struct {
	// Index is required.
	Index Index
	// Blobs holds the segment files; required.
	Blobs blob.Store
	// Logger defaults to discarding. The caller adds identity attributes
	// (component=playback).
	Logger *slog.Logger
	// Now is the clock. It defaults to time.Now.
	Now func() time.Time
	// Signer, when set, signs every export (header Vigil-Signature); the
	// hub passes its key (keys.Hub). Without it exports are not signed.
	Signer Signer
}

// Signer signs with an Ed25519 key.
type Signer interface {
	// Sign signs msg.
	Sign(msg []byte) []byte
	// Public returns the public key.
	Public() ed25519.PublicKey
}

// MaxRange is the longest time range a playlist or an export may cover.
const MaxRange = 24 * time.Hour

// Service serves recorded playback and exports. It holds no goroutines:
// everything runs on the requests' goroutines.
type Service struct {
	idx     Index
	blobs   blob.Store
	log     *slog.Logger
	now     func() time.Time
	exports *registry
	signer  Signer
	sums    sumCache // SHA-256 of recent exports, when signing
}

// New returns the service.
func New(deps Deps) *Service {
	s := &Service{idx: deps.Index, blobs: deps.Blobs, log: deps.Logger, now: deps.Now, signer: deps.Signer}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.exports = newRegistry()
	return s
}

// Routes returns the routes to mount on the API (api.Deps.Routes).
func (s *Service) Routes() []api.Route {
	const cam = "/api/v1/cameras/{id}"
	return []api.Route{
		{Method: "GET", Path: cam + "/playback.m3u8", Perm: auth.PermPlayback, Camera: true, Handler: s.playlist},
		{Method: "GET", Path: cam + "/segments/{seg}", Perm: auth.PermPlayback, Camera: true, Handler: s.segmentMedia},
		{Method: "GET", Path: cam + "/export", Perm: auth.PermExport, Camera: true, Handler: s.export},
		{Method: "GET", Path: "/api/v1/exports", Perm: auth.PermExport, Handler: s.listExports},
	}
}
