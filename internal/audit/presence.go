package audit

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// presence tracks who watches which camera over live HLS, where a view is
// a series of playlist requests rather than one request.
type presence struct {
	mu sync.Mutex
	m  map[viewerKey]*viewer
}

type viewerKey struct{ user, camera string }

type viewer struct {
	last time.Time
	e    Entry
}

// LiveSeen notes a live request of e.User for e.Camera: the first one
// records live_start; Run records live_stop once LiveIdle passes without
// another (or at shutdown). e.Action is ignored.
func (l *Log) LiveSeen(ctx context.Context, e Entry) error {
	now := l.opt.Now()
	k := viewerKey{e.User, e.Camera}
	l.live.mu.Lock()
	if v, ok := l.live.m[k]; ok {
		v.last = now
		l.live.mu.Unlock()
		return nil
	}
	e.Action, e.Time, e.Detail = ActionLiveStart, now, map[string]any{"via": "hls"}
	l.live.m[k] = &viewer{last: now, e: e}
	l.live.mu.Unlock()
	return l.Record(ctx, e)
}

// Watching returns how many live HLS views are open.
func (l *Log) Watching() int {
	l.live.mu.Lock()
	defer l.live.mu.Unlock()
	return len(l.live.m)
}

// runPresence ends idle views until ctx ends, then ends all of them.
func (l *Log) runPresence(ctx context.Context) {
	period := min(max(l.opt.LiveIdle/8, 10*time.Millisecond), time.Second)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.endViews(context.WithoutCancel(ctx), time.Time{}, "shutdown")
			return
		case <-t.C:
			l.endViews(ctx, l.opt.Now().Add(-l.opt.LiveIdle), "idle")
		}
	}
}

// endViews records live_stop for the views last seen before cutoff (all
// of them for the zero cutoff).
func (l *Log) endViews(ctx context.Context, cutoff time.Time, why string) {
	var ended []Entry
	l.live.mu.Lock()
	for k, v := range l.live.m {
		if cutoff.IsZero() || v.last.Before(cutoff) {
			delete(l.live.m, k)
			e := v.e
			e.Action, e.Time = ActionLiveStop, time.Time{}
			e.Detail = map[string]any{"via": "hls", "ended": why, "last_request": fmtTime(v.last)}
			ended = append(ended, e)
		}
	}
	l.live.mu.Unlock()
	slices.SortFunc(ended, func(a, b Entry) int { return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Camera, b.Camera)) })
	for _, e := range ended {
		if err := l.Record(ctx, e); err != nil {
			l.log.Error("audit live_stop not recorded", "err", err, "user", e.User, "camera", e.Camera)
		}
	}
}
