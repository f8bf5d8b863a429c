package indextest

import (
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

func addGap(t *testing.T, idx index.Index, camera string, start, end time.Duration, state index.GapState) index.Gap {
	t.Helper()
	g := index.Gap{Camera: camera, Start: at(start), End: at(end), State: state, Reason: "reconnect"}
	id, err := idx.AddGap(ctxT(t), g)
	ok(t, err, "add gap")
	g.ID = id
	return g
}

func sameGaps(t *testing.T, got, want []index.Gap) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d gaps, want %d: %+v", len(got), len(want), got)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Camera != w.Camera || !g.Start.Equal(w.Start) || !g.End.Equal(w.End) ||
			g.State != w.State || g.Reason != w.Reason {
			t.Errorf("gap %d = %+v, want %+v", i, g, w)
		}
	}
}

func testGaps(t *testing.T, open Opener) {
	idx := open(t)
	m := time.Minute
	g2 := addGap(t, idx, "a", 10*m, 20*m, index.GapPending)
	g1 := addGap(t, idx, "a", 0, m, index.GapLost)
	g3 := addGap(t, idx, "a", 0, 3*time.Hour, index.GapLost)
	gb := addGap(t, idx, "b", 0, m, index.GapLost)
	t.Run("EmptyCamera", func(t *testing.T) {
		_, err := idx.AddGap(ctxT(t), index.Gap{Start: at(0), End: at(m)})
		isErr(t, err, index.ErrInvalid, "add gap without camera")
	})
	tests := []struct {
		name     string
		camera   string
		from, to time.Duration
		want     []index.Gap
	}{
		{"All", "a", -time.Hour, 24 * time.Hour, []index.Gap{g1, g3, g2}},
		{"Overlap", "a", 15 * m, 16 * m, []index.Gap{g3, g2}},
		{"EndExclusive", "a", 20 * m, 21 * m, []index.Gap{g3}},
		{"ToExclusive", "a", -m, 0, nil},
		{"OtherCamera", "b", -m, m, []index.Gap{gb}},
		{"None", "c", -m, m, nil},
		{"EmptyWindow", "a", 15 * m, 15 * m, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := idx.Gaps(ctxT(t), tt.camera, at(tt.from), at(tt.to))
			ok(t, err, "gaps")
			sameGaps(t, got, tt.want)
		})
	}
	t.Run("DeleteBefore", func(t *testing.T) {
		ok(t, idx.DeleteGapsBefore(ctxT(t), "a", at(20*m)), "delete gaps before")
		got, err := idx.Gaps(ctxT(t), "a", at(-time.Hour), at(24*time.Hour))
		ok(t, err, "gaps")
		sameGaps(t, got, []index.Gap{g3, g2}) // g2 ends at 20m: not before
		got, err = idx.Gaps(ctxT(t), "b", at(-time.Hour), at(24*time.Hour))
		ok(t, err, "gaps")
		sameGaps(t, got, []index.Gap{gb})
	})
	t.Run("DeleteBeforeAllCameras", func(t *testing.T) {
		ok(t, idx.DeleteGapsBefore(ctxT(t), "", at(time.Hour)), "delete gaps before")
		for cam, want := range map[string][]index.Gap{"a": {g3}, "b": nil} {
			got, err := idx.Gaps(ctxT(t), cam, at(-time.Hour), at(24*time.Hour))
			ok(t, err, "gaps")
			sameGaps(t, got, want)
		}
	})
}
