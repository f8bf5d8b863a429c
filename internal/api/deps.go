package api

import (
	"context"
	"encoding/json"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/index"
)

// Index is what the API reads and changes in the recordings index.
type Index interface {
	index.Sites
	index.Cameras
	Segments(ctx context.Context, camera string, from, to time.Time) ([]index.Segment, error)
	Gaps(ctx context.Context, camera string, from, to time.Time) ([]index.Gap, error)
	ListEvents(ctx context.Context, f index.EventFilter) (index.EventPage, error)
}

// Authenticator checks credentials; *auth.Service implements it.
type Authenticator interface {
	Login(ctx context.Context, username, password, remote string) (auth.Principal, auth.NewSession, error)
	Logout(ctx context.Context, sessionToken string) error
	AuthenticateSession(ctx context.Context, sessionToken string) (auth.Principal, error)
	AuthenticateToken(ctx context.Context, token string) (auth.Principal, error)
	AuthenticateBasic(ctx context.Context, username, password, remote string) (auth.Principal, error)
}

// TokenManager manages bearer tokens; *auth.Service implements it.
type TokenManager interface {
	CreateToken(ctx context.Context, username, name string, ttl time.Duration) (auth.NewToken, error)
	ListTokens(ctx context.Context, username string) ([]auth.Token, error)
	RevokeToken(ctx context.Context, username, id string) error
}

// UserManager manages users; *auth.Service implements it.
type UserManager interface {
	CreateUser(ctx context.Context, nu auth.NewUser) (auth.User, error)
	GetUser(ctx context.Context, username string) (auth.User, error)
	ListUsers(ctx context.Context) ([]auth.User, error)
	UpdateUser(ctx context.Context, username string, p auth.UserPatch) (auth.User, error)
	DeleteUser(ctx context.Context, username string) error
}

// Auth is everything the API needs from the auth service.
type Auth interface {
	Authenticator
	TokenManager
	UserManager
}

var _ Auth = (*auth.Service)(nil)

// Runtime runs cameras. The API tells it about configuration changes, one
// camera at a time, and asks it for live status.
type Runtime interface {
	// CameraStatus returns the live status of a camera.
	CameraStatus(id string) CameraStatus
	// CameraChanged (re)starts a created or changed camera per its
	// configuration (Source holds credentials). Other cameras are not
	// touched.
	CameraChanged(ctx context.Context, cam index.Camera)
	// CameraRemoved stops a deleted camera.
	CameraRemoved(ctx context.Context, id string)
}

// Camera states reported in CameraStatus.State.
const (
	StateOnline   = "online"   // frames are arriving
	StateOffline  = "offline"  // has a source that is not delivering
	StateWaiting  = "waiting"  // no source: waiting for a push
	StateDisabled = "disabled" // not running
)

// CameraStatus is the live status of a camera, as the API reports it.
type CameraStatus struct {
	// State is online, offline, waiting or disabled.
	State string `json:"state"`
	// FPS is the recent video frame rate.
	FPS float64 `json:"fps"`
	// Bitrate is the recent bit rate in bits per second.
	Bitrate float64 `json:"bitrate"`
	// LastFrame is when the last frame arrived; zero when none has.
	LastFrame time.Time `json:"last_frame"`
	// Error says why the source fails, when it does. The API removes the
	// source's password from it before answering.
	Error string `json:"error,omitempty"`
}

// MarshalJSON writes LastFrame in UTC (RFC 3339) and omits it when zero.
func (s CameraStatus) MarshalJSON() ([]byte, error) {
	type plain CameraStatus
	return json.Marshal(struct {
		plain
		LastFrame string `json:"last_frame,omitempty"`
	}{plain(s), fmtTime(s.LastFrame)})
}

// NopRuntime is a Runtime that runs nothing: cameras with a source are
// reported offline, the others waiting. For hubs and tests without a
// camera runtime.
type NopRuntime struct{}

var _ Runtime = NopRuntime{}

// CameraStatus implements Runtime.
func (NopRuntime) CameraStatus(string) CameraStatus { return CameraStatus{State: StateOffline} }

// CameraChanged implements Runtime.
func (NopRuntime) CameraChanged(context.Context, index.Camera) {}

// CameraRemoved implements Runtime.
func (NopRuntime) CameraRemoved(context.Context, string) {}
