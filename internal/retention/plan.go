package retention

import (
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// Policy resolves how long each camera's footage is kept.
type Policy struct {
	// Default applies to cameras without their own retention, including
	// cameras no longer in the index. Zero or negative keeps footage until
	// disk pressure removes it.
	Default time.Duration
	// PerCamera holds the cameras' own retention; zero or missing entries
	// mean Default.
	PerCamera map[string]time.Duration
}

// PolicyFor builds the policy of a hub default and the cameras' own
// RetentionDays (0 meaning the default).
func PolicyFor(def time.Duration, cams []index.Camera) Policy {
	p := Policy{Default: def, PerCamera: make(map[string]time.Duration, len(cams))}
	for _, c := range cams {
		if c.RetentionDays > 0 {
			p.PerCamera[c.ID] = time.Duration(c.RetentionDays) * 24 * time.Hour
		}
	}
	return p
}

// Retention returns the camera's retention; zero or negative means keep.
func (p Policy) Retention(camera string) time.Duration {
	if d := p.PerCamera[camera]; d > 0 {
		return d
	}
	return p.Default
}

// Finite reports whether every camera, known or not, has a retention.
// Cameras fall back to Default, so this is Default > 0.
func (p Policy) Finite() bool { return p.Default > 0 }

// Max returns the longest retention of the policy (Default included).
func (p Policy) Max() time.Duration {
	m := p.Default
	for _, d := range p.PerCamera {
		m = max(m, d)
	}
	return m
}

// BeyondTime returns the ids of segments whose footage is entirely older
// than their camera's retention at now: the later of Start and End is not
// after now minus retention(camera). A retention <= 0 keeps the camera's
// footage.
//
// segs is any list of segment rows (usually oldest first). Rows already
// SegmentDeleting are skipped (the executor finishes those). A SegmentOpen
// segment that is the newest segment of its camera in segs is never
// selected: it may be the one being recorded. Older open segments are
// crash leftovers and go like closed ones.
func BeyondTime(segs []index.Segment, now time.Time, retention func(camera string) time.Duration) []int64 {
	newest := newestByCamera(segs)
	var ids []int64
	for _, s := range segs {
		if s.State == index.SegmentDeleting || (s.State == index.SegmentOpen && newest[s.Camera] == s.ID) {
			continue
		}
		keep := retention(s.Camera)
		if keep > 0 && !lastTime(s).After(now.Add(-keep)) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// newestByCamera maps each camera to the id of its newest segment in segs
// (greatest Start, then greatest id).
func newestByCamera(segs []index.Segment) map[string]int64 {
	best := make(map[string]index.Segment)
	for _, s := range segs {
		b, ok := best[s.Camera]
		if !ok || s.Start.After(b.Start) || (s.Start.Equal(b.Start) && s.ID > b.ID) {
			best[s.Camera] = s
		}
	}
	out := make(map[string]int64, len(best))
	for c, s := range best {
		out[c] = s.ID
	}
	return out
}

// lastTime is the end of a segment's footage, tolerating an End that was
// never set.
func lastTime(s index.Segment) time.Time {
	if s.End.Before(s.Start) {
		return s.Start
	}
	return s.End
}

// BeyondDisk returns the ids of the segments to delete because the disk is
// too full. When used/total is above high, it selects segments in the
// order given (callers pass them oldest first, across all cameras), each
// freeing its Bytes, until used would drop below low*total. It selects
// nothing while used/total <= high, so usage swings between the two
// watermarks instead of deleting a little on every pass.
//
// Only SegmentClosed rows are selected. Open segments are never deleted
// under pressure: one is being recorded (and unlinking a file its writer
// holds open frees nothing), and the ones a crash left open are closed by
// recovery at startup, after which they are eligible. SegmentDeleting rows
// are the executor's to finish.
func BeyondDisk(segs []index.Segment, used, total uint64, high, low float64) []int64 {
	if total == 0 || float64(used) <= high*float64(total) {
		return nil
	}
	target := low * float64(total)
	var ids []int64
	for _, s := range segs {
		if float64(used) < target {
			break
		}
		if s.State != index.SegmentClosed {
			continue
		}
		ids = append(ids, s.ID)
		used -= min(used, uint64(max(s.Bytes, 0)))
	}
	return ids
}
