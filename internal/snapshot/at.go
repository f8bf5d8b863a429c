package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// span is the part of a segment file to decode for one instant: the init
// block, then the fragments from a keyframe up to the one holding the
// instant.
type span struct {
	seg index.Segment
	// from and to are the byte range of the fragments.
	from, to int64
	// lo and hi bound the wanted frame's time, in seconds of the
	// segment's decode time: the start of the fragment holding the
	// instant, and the instant.
	lo, hi float64
}

// At returns the picture shown at instant at as JPEG: the last recorded
// frame at or before it. ErrNoFootage when nothing is recorded then.
func (s *Service) At(ctx context.Context, camera string, at time.Time, width int) ([]byte, error) {
	if s.deps.Index == nil || s.deps.Blobs == nil {
		return nil, ErrNoFootage
	}
	// The index keeps coarser times than nanoseconds: ask a little wider and
	// let locate pick.
	segs, err := s.deps.Index.Segments(ctx, camera, at, at.Add(time.Second))
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s at %s: list segments: %w", camera, at.Format(time.RFC3339Nano), err)
	}
	sp, ok := locate(segs, at)
	if !ok {
		return nil, ErrNoFootage
	}
	f, err := s.deps.Blobs.Open(ctx, sp.seg.Path)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: open %s: %w", camera, sp.seg.Path, err)
	}
	defer f.Close()
	if f.Size() < sp.to {
		return nil, fmt.Errorf("snapshot of %s: %s holds %d bytes, the index says %d", camera, sp.seg.Path, f.Size(), sp.to)
	}
	in := io.MultiReader(io.NewSectionReader(f, 0, sp.seg.InitSize), io.NewSectionReader(f, sp.from, sp.to-sp.from))
	jpg, err := s.decode(ctx, in, decodeArgs{inputFormat: "mp4", inputOpts: []string{"-copyts"},
		selectExpr: fmt.Sprintf(`between(t\,%.6f\,%.6f)`, sp.lo, sp.hi), width: width})
	if errors.Is(err, errNoPicture) {
		return nil, ErrNoFootage
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s at %s: %w", camera, at.Format(time.RFC3339Nano), err)
	}
	return jpg, nil
}

// locate finds the segment holding at and the fragments to decode for it.
func locate(segs []index.Segment, at time.Time) (span, bool) {
	for _, seg := range segs {
		if at.Before(seg.Start) || !at.Before(seg.End) || seg.InitSize <= 0 || len(seg.Fragments) == 0 {
			continue
		}
		fr := seg.Fragments
		i := -1
		for k := range fr {
			if seg.Start.Add(fr[k].Start).After(at) {
				break
			}
			i = k
		}
		if i < 0 {
			continue
		}
		j := i
		for j > 0 && !fr[j].Key {
			j--
		}
		to := seg.Bytes
		if i+1 < len(fr) {
			to = fr[i+1].Offset
		}
		if fr[j].Offset < seg.InitSize || to <= fr[j].Offset {
			continue
		}
		rel := at.Sub(seg.Start).Seconds()
		return span{seg: seg, from: fr[j].Offset, to: to, lo: fr[i].Start.Seconds(), hi: rel + 1e-6}, true
	}
	return span{}, false
}
