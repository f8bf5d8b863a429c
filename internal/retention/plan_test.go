package retention

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

const day = 24 * time.Hour

// t0 is the fake clock's "now" in planner tests.
func t0() time.Time { return time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC) }

// seg is a segment of camera that ended ago before t0 and lasted a minute.
func seg(id int64, camera string, ago time.Duration, state index.SegmentState) index.Segment {
	end := t0().Add(-ago)
	return index.Segment{ID: id, Camera: camera, Start: end.Add(-time.Minute), End: end, Bytes: 100,
		Path: camera + "/x.mp4", State: state}
}

func TestPolicy(t *testing.T) {
	cams := []index.Camera{{ID: "a", RetentionDays: 7}, {ID: "b"}, {ID: "c", RetentionDays: -1}}
	tests := []struct {
		name   string
		def    time.Duration
		camera string
		want   time.Duration
	}{
		{"own", 30 * day, "a", 7 * day},
		{"zero uses default", 30 * day, "b", 30 * day},
		{"negative uses default", 30 * day, "c", 30 * day},
		{"unknown uses default", 30 * day, "gone", 30 * day},
		{"own beats keep-forever default", 0, "a", 7 * day},
		{"keep forever", 0, "b", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := PolicyFor(tt.def, cams)
			if got := p.Retention(tt.camera); got != tt.want {
				t.Errorf("Retention(%s) = %v, want %v", tt.camera, got, tt.want)
			}
			if p.Finite() != (tt.def > 0) {
				t.Errorf("Finite() = %v with default %v", p.Finite(), tt.def)
			}
			if m := p.Max(); m != max(tt.def, 7*day) {
				t.Errorf("Max() = %v", m)
			}
		})
	}
}

func TestBeyondTime(t *testing.T) {
	policy := Policy{Default: 3 * day, PerCamera: map[string]time.Duration{"short": day}}
	closed, open, deleting := index.SegmentClosed, index.SegmentOpen, index.SegmentDeleting
	tests := []struct {
		name string
		segs []index.Segment
		want []int64
	}{
		{"empty", nil, nil},
		{"default retention", []index.Segment{seg(1, "a", 4*day, closed), seg(2, "a", 3*day, closed), seg(3, "a", 2*day, closed)}, []int64{1, 2}},
		{"per camera", []index.Segment{seg(1, "short", 2*day, closed), seg(2, "a", 2*day, closed), seg(3, "short", time.Hour, closed)}, []int64{1}},
		{"straddling the cutoff is kept", []index.Segment{seg(1, "short", day-time.Second, closed)}, nil},
		{"deleting rows are skipped", []index.Segment{seg(1, "a", 9*day, deleting), seg(2, "a", 8*day, closed)}, []int64{2}},
		{"newest open is kept", []index.Segment{seg(1, "a", 9*day, closed), seg(2, "a", 8*day, open)}, []int64{1}},
		{"older open goes", []index.Segment{seg(1, "a", 9*day, open), seg(2, "a", 8*day, open)}, []int64{1}},
		{"newest is per camera", []index.Segment{seg(1, "a", 9*day, open), seg(2, "b", 8*day, open), seg(3, "a", 7*day, closed)}, []int64{1, 3}},
		{"unset end uses start", []index.Segment{{ID: 1, Camera: "a", Start: t0().Add(-time.Hour), State: closed},
			{ID: 2, Camera: "a", Start: t0().Add(-5 * day), State: closed}}, []int64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BeyondTime(tt.segs, t0(), policy.Retention)
			if !slices.Equal(got, tt.want) {
				t.Errorf("BeyondTime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBeyondTimeKeepForever(t *testing.T) {
	p := Policy{PerCamera: map[string]time.Duration{"short": day}} // default: keep
	segs := []index.Segment{seg(1, "a", 400*day, index.SegmentClosed), seg(2, "short", 2*day, index.SegmentClosed)}
	if got := BeyondTime(segs, t0(), p.Retention); !slices.Equal(got, []int64{2}) {
		t.Errorf("BeyondTime = %v, want [2]", got)
	}
}

func TestBeyondDisk(t *testing.T) {
	closed, open, deleting := index.SegmentClosed, index.SegmentOpen, index.SegmentDeleting
	// Ten closed segments of 100 bytes, oldest first, two cameras.
	var ten []index.Segment
	for i := range 10 {
		ten = append(ten, seg(int64(i+1), []string{"a", "b"}[i%2], time.Duration(10-i)*time.Hour, closed))
	}
	tests := []struct {
		name        string
		segs        []index.Segment
		used, total uint64
		want        []int64
	}{
		{"below high", ten, 850, 1000, nil},
		{"at high", ten, 900, 1000, nil},
		{"above high drops below low", ten, 901, 1000, []int64{1}},
		{"far above", ten, 1000, 1000, []int64{1, 2}},
		{"to low exactly is not below", ten, 950, 1000, []int64{1, 2}},
		{"not enough footage", ten, 5000, 1000, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{"zero total", ten, 10, 0, nil},
		{"open and deleting skipped", []index.Segment{seg(1, "a", 3*time.Hour, open), seg(2, "a", 2*time.Hour, deleting),
			seg(3, "b", time.Hour, closed), seg(4, "b", 0, open)}, 1000, 1000, []int64{3}},
		{"only open", []index.Segment{seg(1, "a", time.Hour, open)}, 1000, 1000, nil},
		{"bytes beyond used", []index.Segment{{ID: 1, State: closed, Bytes: 5000}, {ID: 2, State: closed, Bytes: 1}}, 1000, 1000, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BeyondDisk(tt.segs, tt.used, tt.total, 0.90, 0.85)
			if !slices.Equal(got, tt.want) {
				t.Errorf("BeyondDisk(used %d of %d) = %v, want %v", tt.used, tt.total, got, tt.want)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name      string
		in        Config
		high, low float64
	}{
		{"zero", Config{}, 0.90, 0.85},
		{"set", Config{HighWatermark: 0.8, LowWatermark: 0.5}, 0.8, 0.5},
		{"low above high", Config{HighWatermark: 0.5, LowWatermark: 0.7}, 0.5, 0.45},
		{"high over one", Config{HighWatermark: 2}, 0.90, 0.85},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := withDefaults(tt.in)
			if c.HighWatermark != tt.high || c.LowWatermark != tt.low || c.Interval != DefaultInterval ||
				c.BatchSize != DefaultBatchSize || c.MaxBatches != DefaultMaxBatches {
				t.Errorf("withDefaults = %+v, want high %v low %v", c, tt.high, tt.low)
			}
		})
	}
}
