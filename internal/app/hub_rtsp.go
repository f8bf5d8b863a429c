package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
	"github.com/vigil-video/vigil/internal/camera"
	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/stream"
)

// rtspAuthTTL is how long a verified RTSP credential is trusted without
// verifying it again (password hashing is deliberately slow; RTSP clients
// send credentials with every request).
const rtspAuthTTL = time.Minute

// rtspAuth checks RTSP credentials: a user's password or a bearer token
// (as the password, any user name). Publishing needs the manage
// permission; reading needs live, within the user's sites.
type rtspAuth struct {
	svc  *auth.Service
	cams *camera.Manager
	gws  *gateways.Registry // gateway credentials (may be nil)

	mu       sync.Mutex
	cache    map[[32]byte]cachedPrincipal
	inflight map[[32]byte]chan struct{}
}

type cachedPrincipal struct {
	p       auth.Principal
	expires time.Time
}

func newRTSPAuth(svc *auth.Service, cams *camera.Manager, gws *gateways.Registry) *rtspAuth {
	return &rtspAuth{svc: svc, cams: cams, gws: gws, cache: map[[32]byte]cachedPrincipal{}, inflight: map[[32]byte]chan struct{}{}}
}

// AuthenticateRTSP implements ingest.Authenticator.
func (a *rtspAuth) AuthenticateRTSP(user, pass, cameraID string, action ingest.Action) bool {
	if pass == "" {
		return false
	}
	if a.gws != nil {
		// a gateway credential is checked every time (revocation at once)
		if handled, ok := gatewayPublish(a.gws, a.cams.Site, pass, cameraID, action); handled {
			return ok
		}
	}
	p, ok := a.principal(user, pass)
	if !ok {
		return false
	}
	site, ok := a.cams.Site(cameraID)
	if !ok {
		return false
	}
	perm := auth.PermLive
	switch action {
	case ingest.ActionPublish:
		perm = auth.PermManage
	case ingest.ActionRead:
	default:
		return false
	}
	// the same decision as the HTTP API's; RTSP answers every refusal
	// alike (401), so a camera outside the caller's sites stays unknown
	return auth.Authorize(p, perm, true, site) == auth.Allowed
}

// principal verifies credentials, at most once at a time per credential
// pair (the publishers of a gateway connect together), and caches success.
func (a *rtspAuth) principal(user, pass string) (auth.Principal, bool) {
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	for {
		a.mu.Lock()
		if c, ok := a.cache[key]; ok && time.Now().Before(c.expires) {
			a.mu.Unlock()
			return c.p, true
		}
		wait, busy := a.inflight[key]
		if !busy {
			done := make(chan struct{})
			a.inflight[key] = done
			a.mu.Unlock()
			p, ok := a.verify(user, pass)
			a.mu.Lock()
			delete(a.inflight, key)
			if ok {
				if len(a.cache) > 10000 {
					clear(a.cache)
				}
				a.cache[key] = cachedPrincipal{p: p, expires: time.Now().Add(rtspAuthTTL)}
			}
			a.mu.Unlock()
			close(done)
			return p, ok
		}
		a.mu.Unlock()
		<-wait
		a.mu.Lock()
		_, cached := a.cache[key]
		a.mu.Unlock()
		if !cached {
			return auth.Principal{}, false // the same credentials just failed
		}
	}
}

func (a *rtspAuth) verify(user, pass string) (auth.Principal, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if strings.HasPrefix(pass, auth.TokenPrefix) {
		p, err := a.svc.AuthenticateToken(ctx, pass)
		return p, err == nil
	}
	p, err := a.svc.AuthenticateBasic(ctx, user, pass, "rtsp")
	return p, err == nil
}

// rtspStreams adapts camera.Manager to ingest.Streams.
type rtspStreams struct{ m *camera.Manager }

func (s rtspStreams) PushStream(id string) (*stream.Stream, error) {
	st, err := s.m.PushStream(id)
	switch {
	case errors.Is(err, camera.ErrUnknownCamera):
		return nil, fmt.Errorf("%w: %s", ingest.ErrUnknownCamera, id)
	case errors.Is(err, camera.ErrPulled):
		return nil, fmt.Errorf("%w: %s", ingest.ErrNotPushable, id)
	}
	return st, err
}

func (s rtspStreams) LiveStream(id string) (*stream.Stream, error) {
	st, ok := s.m.Stream(id)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ingest.ErrUnknownCamera, id)
	}
	return st, nil
}
