package playback

import (
	"fmt"
	"time"

	"github.com/vigil-video/vigil/internal/index"
)

// clip is the run of fragments [First, Last] of one segment that a
// playlist or an export uses.
type clip struct {
	Seg         index.Segment
	First, Last int
}

// fragStart returns the wall time at which fragment i of seg starts.
func fragStart(seg *index.Segment, i int) time.Time {
	return seg.Start.Add(seg.Fragments[i].Start)
}

// fragEnd returns the wall time at which fragment i of seg ends: where the
// next one starts, or the segment's end for the last.
func fragEnd(seg *index.Segment, i int) time.Time {
	if i+1 < len(seg.Fragments) {
		return fragStart(seg, i+1)
	}
	return seg.End
}

// fragBytes returns the byte range [off, end) of fragment i of seg.
func fragBytes(seg *index.Segment, i int) (off, end int64) {
	off = seg.Fragments[i].Offset
	if i+1 < len(seg.Fragments) {
		return off, seg.Fragments[i+1].Offset
	}
	return off, seg.Bytes
}

// start returns the wall time of the clip's first fragment.
func (c *clip) start() time.Time { return fragStart(&c.Seg, c.First) }

// end returns the wall time at which the clip's last fragment ends.
func (c *clip) end() time.Time { return fragEnd(&c.Seg, c.Last) }

// checkSegment rejects an index row whose fragment list cannot describe
// its file: offsets must grow inside (InitSize, Bytes] and starts must
// not go back.
func checkSegment(seg *index.Segment) error {
	if seg.InitSize <= 0 || seg.Bytes < seg.InitSize {
		return fmt.Errorf("segment %d: init size %d, bytes %d", seg.ID, seg.InitSize, seg.Bytes)
	}
	prevOff, prevStart := seg.InitSize, time.Duration(0)
	for i, f := range seg.Fragments {
		if (i == 0 && f.Offset != seg.InitSize) || (i > 0 && f.Offset <= prevOff) || f.Offset >= seg.Bytes {
			return fmt.Errorf("segment %d: fragment %d at offset %d out of order", seg.ID, i, f.Offset)
		}
		if f.Start < prevStart {
			return fmt.Errorf("segment %d: fragment %d starts before the previous one", seg.ID, i)
		}
		prevOff, prevStart = f.Offset, f.Start
	}
	return nil
}

// selectClips picks the fragments that cover [from, to): the first clip
// starts at the keyframe fragment at or before from (or the first keyframe
// fragment after it, when from is in a gap) and the last ends with the
// fragment containing to. Segments without usable fragments are skipped;
// bad returns the rows skipped because they are inconsistent.
func selectClips(segs []index.Segment, from, to time.Time) (clips []clip, bad []error) {
	for _, seg := range segs {
		if len(seg.Fragments) == 0 {
			continue
		}
		if err := checkSegment(&seg); err != nil {
			bad = append(bad, err)
			continue
		}
		first := 0
		if len(clips) == 0 {
			if first = firstFragment(&seg, from); first < 0 {
				continue
			}
		}
		last := len(seg.Fragments) - 1
		for last >= first && !fragStart(&seg, last).Before(to) {
			last--
		}
		if last < first || !fragEnd(&seg, last).After(from) {
			continue
		}
		clips = append(clips, clip{Seg: seg, First: first, Last: last})
	}
	return clips, bad
}

// firstFragment returns the index of the last keyframe fragment of seg
// starting at or before from, else of its first keyframe fragment, else -1.
func firstFragment(seg *index.Segment, from time.Time) int {
	first := -1
	for i, f := range seg.Fragments {
		if !f.Key {
			continue
		}
		if fragStart(seg, i).After(from) {
			if first < 0 {
				return i
			}
			break
		}
		first = i
	}
	return first
}
