package timeline

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

func base() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

func at(ms int64) time.Time { return base().Add(time.Duration(ms) * time.Millisecond) }

// Record kinds of the fuzz encoding (kind%6); kind/6%3 picks a reason.
const (
	kSegClosed = iota
	kSegOpen
	kSegDeleting
	kGapLost
	kGapPending
	kGapOther
	nKinds
)

func reasons() []string { return []string{"", "reconnect", "restart"} }

// rec is one input row: a segment or an explicit gap, in ms from base.
type rec struct {
	kind       int
	start, end int64
	reason     string
}

type wantGap struct {
	start, end int64
	state      index.GapState
	reason     string
}

type spansCase struct {
	name          string
	from, to, now int64 // now 0: none
	tol           int64 // ms; 0: default
	in            []rec
	spans         [][2]int64
	gaps          []wantGap
}

func seg(s, e int64) rec                     { return rec{kind: kSegClosed, start: s, end: e} }
func gapRow(k int, s, e int64, r string) rec { return rec{kind: k, start: s, end: e, reason: r} }

func spansCases() []spansCase {
	lost := index.GapLost
	pend := index.GapPending
	return []spansCase{
		{name: "nothing recorded", from: 0, to: 10000,
			gaps: []wantGap{{0, 10000, lost, ""}}},
		{name: "one segment covers all", from: 0, to: 10000, in: []rec{seg(-5000, 20000)},
			spans: [][2]int64{{0, 10000}}},
		{name: "abutting segments join", from: 0, to: 10000, in: []rec{seg(0, 4000), seg(4000, 10000)},
			spans: [][2]int64{{0, 10000}}},
		{name: "within tolerance join", from: 0, to: 10000, in: []rec{seg(0, 4000), seg(5500, 10000)},
			spans: [][2]int64{{0, 10000}}},
		{name: "beyond tolerance split", from: 0, to: 10000, in: []rec{seg(0, 4000), seg(5501, 10000)},
			spans: [][2]int64{{0, 4000}, {5501, 10000}}, gaps: []wantGap{{4000, 5501, lost, ""}}},
		{name: "unsorted and overlapping", from: 0, to: 30000,
			in:    []rec{seg(20000, 30000), seg(0, 5000), seg(2000, 4000), seg(3000, 8000)},
			spans: [][2]int64{{0, 8000}, {20000, 30000}}, gaps: []wantGap{{8000, 20000, lost, ""}}},
		{name: "edges", from: 10000, to: 20000, in: []rec{seg(12000, 15000)},
			spans: [][2]int64{{12000, 15000}}, gaps: []wantGap{{10000, 12000, lost, ""}, {15000, 20000, lost, ""}}},
		{name: "short edge holes hidden", from: 10000, to: 20000, in: []rec{seg(11000, 19000)},
			spans: [][2]int64{{11000, 19000}}},
		{name: "open segment counts", from: 0, to: 10000, in: []rec{{kind: kSegOpen, start: 0, end: 10000}},
			spans: [][2]int64{{0, 10000}}},
		{name: "deleting and empty segments ignored", from: 0, to: 10000,
			in:   []rec{{kind: kSegDeleting, start: 0, end: 10000}, seg(5000, 5000), seg(7000, 6000)},
			gaps: []wantGap{{0, 10000, lost, ""}}},
		{name: "nothing after now", from: 0, to: 60000, now: 30000, in: []rec{seg(0, 10000)},
			spans: [][2]int64{{0, 10000}}, gaps: []wantGap{{10000, 30000, lost, ""}}},
		{name: "recording now", from: 0, to: 60000, now: 30000, in: []rec{seg(0, 29000)},
			spans: [][2]int64{{0, 29000}}},
		{name: "now before from", from: 10000, to: 20000, now: 5000},
		{name: "pending gap explains hole", from: 0, to: 30000,
			in:    []rec{seg(0, 10000), seg(20000, 30000), gapRow(kGapPending, 10000, 20000, "reconnect")},
			spans: [][2]int64{{0, 10000}, {20000, 30000}}, gaps: []wantGap{{10000, 20000, pend, "reconnect"}}},
		{name: "pending gap partly backfilled", from: 0, to: 30000,
			in:    []rec{seg(0, 10000), seg(15000, 30000), gapRow(kGapPending, 5000, 25000, "")},
			spans: [][2]int64{{0, 10000}, {15000, 30000}}, gaps: []wantGap{{10000, 15000, pend, ""}}},
		{name: "row covers part of hole", from: 0, to: 30000,
			in:    []rec{seg(0, 10000), seg(20000, 30000), gapRow(kGapLost, 12000, 14000, "restart")},
			spans: [][2]int64{{0, 10000}, {20000, 30000}},
			gaps:  []wantGap{{10000, 12000, lost, ""}, {12000, 14000, lost, "restart"}, {14000, 20000, lost, ""}}},
		{name: "pending beats lost", from: 0, to: 30000,
			in:   []rec{gapRow(kGapLost, 0, 20000, "restart"), gapRow(kGapPending, 10000, 30000, "reconnect")},
			gaps: []wantGap{{0, 10000, lost, "restart"}, {10000, 30000, pend, "reconnect"}}},
		{name: "earliest row gives reason", from: 0, to: 30000,
			in:   []rec{gapRow(kGapLost, 5000, 30000, "reconnect"), gapRow(kGapLost, 0, 20000, "restart")},
			gaps: []wantGap{{0, 20000, lost, "restart"}, {20000, 30000, lost, "reconnect"}}},
		{name: "unknown state is lost", from: 0, to: 10000, in: []rec{gapRow(kGapOther, 0, 10000, "")},
			gaps: []wantGap{{0, 10000, lost, ""}}},
		{name: "adjacent equal rows merge", from: 0, to: 10000,
			in:   []rec{gapRow(kGapPending, 0, 5000, ""), gapRow(kGapPending, 5000, 10000, "")},
			gaps: []wantGap{{0, 10000, pend, ""}}},
		{name: "exact tolerance", from: 0, to: 10000, tol: -1, in: []rec{seg(0, 5000), seg(5001, 10000)},
			spans: [][2]int64{{0, 5000}, {5001, 10000}}, gaps: []wantGap{{5000, 5001, lost, ""}}},
		{name: "custom tolerance", from: 0, to: 10000, tol: 3000, in: []rec{seg(0, 5000), seg(7999, 10000)},
			spans: [][2]int64{{0, 10000}}},
		{name: "empty window", from: 10000, to: 10000, in: []rec{seg(0, 20000)}},
		{name: "inverted window", from: 20000, to: 10000, in: []rec{seg(0, 30000)}},
	}
}

func (c spansCase) inputs() (Window, []index.Segment, []index.Gap) {
	w := Window{From: at(c.from), To: at(c.to), JoinTolerance: time.Duration(c.tol) * time.Millisecond}
	if c.now != 0 {
		w.Now = at(c.now)
	}
	var segs []index.Segment
	var gaps []index.Gap
	for _, r := range c.in {
		switch r.kind {
		case kSegClosed, kSegOpen, kSegDeleting:
			st := []index.SegmentState{index.SegmentClosed, index.SegmentOpen, index.SegmentDeleting}[r.kind]
			segs = append(segs, index.Segment{Camera: "c", Start: at(r.start), End: at(r.end), State: st})
		default:
			st := map[int]index.GapState{kGapLost: index.GapLost, kGapPending: index.GapPending, kGapOther: "weird"}[r.kind]
			gaps = append(gaps, index.Gap{Camera: "c", Start: at(r.start), End: at(r.end), State: st, Reason: r.reason})
		}
	}
	return w, segs, gaps
}

func TestSpans(t *testing.T) {
	t.Parallel()
	for _, tc := range spansCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, segs, gaps := tc.inputs()
			got := Spans(w, segs, gaps)
			var spans [][2]int64
			for _, s := range got.Spans {
				spans = append(spans, [2]int64{ms(s.Start), ms(s.End)})
			}
			var gs []wantGap
			for _, g := range got.Gaps {
				gs = append(gs, wantGap{ms(g.Start), ms(g.End), g.State, g.Reason})
			}
			if !slices.Equal(spans, tc.spans) {
				t.Errorf("spans = %v, want %v", spans, tc.spans)
			}
			if !slices.Equal(gs, tc.gaps) {
				t.Errorf("gaps = %v, want %v", gs, tc.gaps)
			}
			checkInvariants(t, w, got)
		})
	}
}

func ms(t time.Time) int64 { return t.Sub(base()).Milliseconds() }

// checkInvariants asserts what holds for any input.
func checkInvariants(t *testing.T, w Window, tl Timeline) {
	t.Helper()
	tol := w.JoinTolerance
	if tol == 0 {
		tol = DefaultJoinTolerance
	}
	tol = max(tol, 0)
	horizon := w.To
	if !w.Now.IsZero() && w.Now.Before(horizon) {
		horizon = w.Now
	}
	for i, s := range tl.Spans {
		if !s.Start.Before(s.End) || s.Start.Before(w.From) || s.End.After(w.To) {
			t.Fatalf("span %d %v..%v outside window or empty", i, s.Start, s.End)
		}
		if i > 0 && s.Start.Sub(tl.Spans[i-1].End) <= tol {
			t.Fatalf("spans %d and %d should have merged", i-1, i)
		}
	}
	for i, g := range tl.Gaps {
		if !g.Start.Before(g.End) || g.Start.Before(w.From) || g.End.After(horizon) {
			t.Fatalf("gap %d %v..%v outside window or empty", i, g.Start, g.End)
		}
		if g.State != index.GapLost && g.State != index.GapPending {
			t.Fatalf("gap %d state %q", i, g.State)
		}
		if i > 0 && g.Start.Before(tl.Gaps[i-1].End) {
			t.Fatalf("gaps %d and %d overlap or are unsorted", i-1, i)
		}
		for _, s := range tl.Spans {
			if g.Start.Before(s.End) && s.Start.Before(g.End) {
				t.Fatalf("gap %d overlaps a span", i)
			}
		}
	}
	checkCoverage(t, w.From, horizon, tol, tl)
}

// checkCoverage asserts that, inside [from, horizon], only holes no longer
// than tol at the edges are neither span nor gap.
func checkCoverage(t *testing.T, from, horizon time.Time, tol time.Duration, tl Timeline) {
	t.Helper()
	var cover []Span
	cover = append(cover, tl.Spans...)
	for _, g := range tl.Gaps {
		cover = append(cover, Span{g.Start, g.End})
	}
	slices.SortFunc(cover, func(a, b Span) int { return a.Start.Compare(b.Start) })
	cur := from
	for _, c := range cover {
		if c.Start.After(cur) && c.Start.Before(horizon) {
			if cur != from || c.Start.Sub(cur) > tol {
				t.Fatalf("uncovered %v..%v", cur, c.Start)
			}
		}
		if c.End.After(cur) {
			cur = c.End
		}
	}
	if horizon.After(cur) && horizon.Sub(cur) > tol {
		t.Fatalf("uncovered tail %v..%v", cur, horizon)
	}
}

// encode turns a case into the fuzz target's arguments.
func (c spansCase) encode() (from, to, now, tol int64, data []byte) {
	for _, r := range c.in {
		k := r.kind + nKinds*slices.Index(reasons(), r.reason)
		data = append(data, byte(k))
		data = binary.BigEndian.AppendUint32(data, uint32(int32(r.start)))
		data = binary.BigEndian.AppendUint32(data, uint32(int32(r.end)))
	}
	return c.from, c.to, c.now, c.tol, data
}

// decode is the inverse of encode, for any bytes.
func decode(from, to, now, tol int64, data []byte) spansCase {
	c := spansCase{from: from, to: to, now: now, tol: tol}
	for len(data) >= 9 {
		k := int(data[0])
		c.in = append(c.in, rec{
			kind:   k % nKinds,
			reason: reasons()[k/nKinds%len(reasons())],
			start:  int64(int32(binary.BigEndian.Uint32(data[1:5]))),
			end:    int64(int32(binary.BigEndian.Uint32(data[5:9]))),
		})
		data = data[9:]
	}
	return c
}

func FuzzSpans(f *testing.F) {
	for _, tc := range spansCases() {
		from, to, now, tol, data := tc.encode()
		f.Add(from, to, now, tol, data)
	}
	f.Fuzz(func(t *testing.T, from, to, now, tol int64, data []byte) {
		// Keep times within ±1 day of base so durations cannot overflow.
		const day = int64(24 * time.Hour / time.Millisecond)
		from, to, now = from%day, to%day, now%day
		tol %= 10000
		c := decode(from, to, now, tol, data)
		w, segs, gaps := c.inputs()
		checkInvariants(t, w, Spans(w, segs, gaps))
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzSpans from the table
// when VIGIL_WRITE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("VIGIL_WRITE_CORPUS") != "1" {
		t.Skip("set VIGIL_WRITE_CORPUS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzSpans")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, tc := range spansCases() {
		from, to, now, tol, data := tc.encode()
		body := fmt.Sprintf("go test fuzz v1\nint64(%d)\nint64(%d)\nint64(%d)\nint64(%d)\n[]byte(%q)\n", from, to, now, tol, data)
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range spansCases() {
		got := decode(tc.encode())
		if !slices.Equal(got.in, tc.in) {
			t.Errorf("%s: round trip %v != %v", tc.name, got.in, tc.in)
		}
	}
}
