// Package timeline turns a camera's recorded segments and explicit gaps
// into its timeline: the continuous spans of footage and the gaps between
// them, as the recordings API and the viewer page show them.
package timeline

import (
	"slices"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// DefaultJoinTolerance is the largest hole between two segments that still
// counts as continuous footage. Segments of one recording session abut
// within a frame (or a fragment of clock jitter); a reconnect or a restart
// leaves seconds. 1.5 s covers frame intervals down to under 1 fps.
const DefaultJoinTolerance = 1500 * time.Millisecond

// Window is the time range a timeline covers.
type Window struct {
	From, To time.Time
	// Now bounds gaps: nothing after Now is reported as missing. Zero
	// means To.
	Now time.Time
	// JoinTolerance: segments at most this far apart form one span, and
	// holes at most this long are not reported as gaps. Zero means
	// DefaultJoinTolerance; negative means 0 (exact).
	JoinTolerance time.Duration
}

// Span is a stretch of continuous footage.
type Span struct {
	Start, End time.Time
}

// Gap is a stretch without footage. State is GapPending when the footage
// may still arrive (a gateway will backfill it), GapLost otherwise.
type Gap struct {
	Start, End time.Time
	State      index.GapState
	Reason     string // from the explicit gap row that explains it, if any
}

// Timeline is what a camera has recorded in a window.
type Timeline struct {
	Spans []Span
	Gaps  []Gap
}

// Spans computes the timeline of one camera in w from its segments and
// explicit gap rows (any order; rows outside w are ignored).
//
// Rules:
//   - Spans are the segments clipped to [From, To], merged when one starts
//     at most JoinTolerance after the previous ends. Deleting segments and
//     segments with End <= Start are ignored.
//   - Gaps are the holes between spans, and before the first and after the
//     last, inside [From, min(To, Now)], longer than JoinTolerance.
//     Footage always wins: an explicit gap row under a span is hidden.
//   - A hole's parts covered by explicit gap rows take the row's state and
//     reason (pending beats lost where rows overlap; among rows of one state
//     the earliest-starting gives the reason); uncovered parts are lost.
//
// Spans and gaps come out sorted, disjoint and non-empty.
func Spans(w Window, segs []index.Segment, gaps []index.Gap) Timeline {
	tol := w.JoinTolerance
	if tol == 0 {
		tol = DefaultJoinTolerance
	}
	tol = max(tol, 0)
	horizon := w.To
	if !w.Now.IsZero() && w.Now.Before(horizon) {
		horizon = w.Now
	}
	var tl Timeline
	if !w.From.Before(w.To) {
		return tl
	}
	tl.Spans = mergeSegments(segs, w.From, w.To, tol)
	holes := holesBetween(tl.Spans, w.From, horizon, tol)
	tl.Gaps = labelHoles(holes, normalizeGaps(gaps, w.From, horizon))
	return tl
}

// mergeSegments clips usable segments to [from, to] and merges them.
func mergeSegments(segs []index.Segment, from, to time.Time, tol time.Duration) []Span {
	var in []Span
	for _, s := range segs {
		if s.State == index.SegmentDeleting {
			continue
		}
		if sp, ok := clip(s.Start, s.End, from, to); ok {
			in = append(in, sp)
		}
	}
	slices.SortFunc(in, func(a, b Span) int { return a.Start.Compare(b.Start) })
	var out []Span
	for _, s := range in {
		if n := len(out); n > 0 && !s.Start.After(out[n-1].End.Add(tol)) {
			if s.End.After(out[n-1].End) {
				out[n-1].End = s.End
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// clip returns [start, end] ∩ [from, to] when it is not empty.
func clip(start, end, from, to time.Time) (Span, bool) {
	if start.Before(from) {
		start = from
	}
	if end.After(to) {
		end = to
	}
	return Span{Start: start, End: end}, start.Before(end)
}

// holesBetween returns the parts of [from, horizon] not covered by spans
// (sorted, disjoint) that are longer than tol.
func holesBetween(spans []Span, from, horizon time.Time, tol time.Duration) []Span {
	var holes []Span
	cur := from
	add := func(end time.Time) {
		if h, ok := clip(cur, end, from, horizon); ok && h.End.Sub(h.Start) > tol {
			holes = append(holes, h)
		}
	}
	for _, s := range spans {
		add(s.Start)
		if s.End.After(cur) {
			cur = s.End
		}
	}
	add(horizon)
	return holes
}

// label is the state and reason of a stretch of missing footage.
type label struct {
	state  index.GapState
	reason string
}

// labelled is a disjoint, sorted stretch covered by explicit gap rows.
type labelled struct {
	Span
	label
}

// normalizeGaps clips explicit gap rows to [from, horizon] and resolves
// their overlaps into sorted, disjoint, labelled stretches.
func normalizeGaps(gaps []index.Gap, from, horizon time.Time) []labelled {
	var rows []index.Gap
	var cuts []time.Time
	for _, g := range gaps {
		sp, ok := clip(g.Start, g.End, from, horizon)
		if !ok {
			continue
		}
		g.Start, g.End = sp.Start, sp.End
		if g.State != index.GapPending {
			g.State = index.GapLost
		}
		rows = append(rows, g)
		cuts = append(cuts, g.Start, g.End)
	}
	slices.SortStableFunc(rows, func(a, b index.Gap) int { return a.Start.Compare(b.Start) })
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	return sweep(rows, cuts)
}

// sweep labels each elementary interval between consecutive cuts by the
// rows covering it, merging equal neighbours. rows are sorted by Start.
func sweep(rows []index.Gap, cuts []time.Time) []labelled {
	var out []labelled
	var active []index.Gap // rows covering the current interval, by Start
	next := 0
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		active = slices.DeleteFunc(active, func(g index.Gap) bool { return !g.End.After(a) })
		for next < len(rows) && !rows[next].Start.After(a) {
			active = append(active, rows[next])
			next++
		}
		if len(active) == 0 {
			continue
		}
		out = appendMerged(out, labelled{Span: Span{a, b}, label: pick(active)})
	}
	return out
}

// pick chooses the label of overlapping rows: pending first, then the
// earliest-starting row of that state.
func pick(active []index.Gap) label {
	best := active[0]
	for _, g := range active[1:] {
		if g.State == index.GapPending && best.State != index.GapPending {
			best = g
		}
	}
	return label{state: best.State, reason: best.Reason}
}

// appendMerged appends l, extending the last element instead when it ends
// where l starts with the same label.
func appendMerged(out []labelled, l labelled) []labelled {
	if n := len(out); n > 0 && out[n-1].End.Equal(l.Start) && out[n-1].label == l.label {
		out[n-1].End = l.End
		return out
	}
	return append(out, l)
}

// labelHoles splits each hole by the labelled stretches; parts no row
// covers are lost without a reason. Both inputs are sorted and disjoint.
func labelHoles(holes []Span, rows []labelled) []Gap {
	var out []labelled
	j := 0
	for _, h := range holes {
		for j < len(rows) && !rows[j].End.After(h.Start) {
			j++
		}
		cur := h.Start
		for k := j; k < len(rows) && rows[k].Start.Before(h.End); k++ {
			r, _ := clip(rows[k].Start, rows[k].End, h.Start, h.End)
			if cur.Before(r.Start) {
				out = appendMerged(out, labelled{Span: Span{cur, r.Start}, label: label{state: index.GapLost}})
			}
			out = appendMerged(out, labelled{Span: r, label: rows[k].label})
			cur = r.End
		}
		if cur.Before(h.End) {
			out = appendMerged(out, labelled{Span: Span{cur, h.End}, label: label{state: index.GapLost}})
		}
	}
	gaps := make([]Gap, 0, len(out))
	for _, l := range out {
		gaps = append(gaps, Gap{Start: l.Start, End: l.End, State: l.state, Reason: l.reason})
	}
	return gaps
}
