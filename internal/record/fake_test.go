package record

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/vigil-video/vigil/internal/index"
)

// memIndex is an in-memory index for recorder unit tests (the real
// backends are exercised by the end-to-end tests).
type memIndex struct {
	mu   sync.Mutex
	segs map[int64]*index.Segment
	gaps []index.Gap
	next int64

	adds, batches int // AddSegment and AddSegments calls
}

func newMemIndex() *memIndex { return &memIndex{segs: map[int64]*index.Segment{}} }

func (m *memIndex) AddSegment(_ context.Context, s index.Segment) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.adds++
	return m.add(s)
}

// add inserts s, refusing a path in use like the real backends.
func (m *memIndex) add(s index.Segment) (int64, error) {
	for _, have := range m.segs {
		if have.Path == s.Path {
			return 0, fmt.Errorf("segment path %s: %w", s.Path, index.ErrConflict)
		}
	}
	if s.State == 0 {
		s.State = index.SegmentOpen
	}
	m.next++
	s.ID = m.next
	m.segs[s.ID] = &s
	return s.ID, nil
}

func (m *memIndex) AddSegments(_ context.Context, segs []index.Segment) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches++
	var ids []int64
	for _, s := range segs {
		id, err := m.add(s)
		if err != nil {
			for _, id := range ids {
				delete(m.segs, id)
			}
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (m *memIndex) CommitSegments(_ context.Context, ups []index.SegmentUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range ups {
		s := m.segs[u.ID]
		s.End, s.Bytes = u.End, u.Bytes
		s.Fragments = append(s.Fragments, u.Fragments...)
		if u.Close {
			s.State = index.SegmentClosed
		}
	}
	return nil
}

func (m *memIndex) AddGap(_ context.Context, g index.Gap) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gaps = append(m.gaps, g)
	return int64(len(m.gaps)), nil
}

func (m *memIndex) GetSegment(_ context.Context, id int64) (index.Segment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.segs[id]
	if !ok {
		return index.Segment{}, index.ErrNotFound
	}
	return *s, nil
}

func (m *memIndex) OpenSegments(context.Context) ([]index.Segment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []index.Segment
	for _, s := range m.segs {
		if s.State == index.SegmentOpen {
			out = append(out, *s)
		}
	}
	return out, nil
}

func (m *memIndex) ReplaceSegment(_ context.Context, s index.Segment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.segs[s.ID] = &s
	return nil
}

func (m *memIndex) AllSegmentPaths(context.Context) (map[string]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int64{}
	for id, s := range m.segs {
		out[s.Path] = id
	}
	return out, nil
}

func (m *memIndex) DeleteSegments(_ context.Context, ids []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range ids {
		delete(m.segs, id)
	}
	return nil
}

// sorted returns the segments ordered by start.
func (m *memIndex) sorted() []index.Segment {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []index.Segment
	for _, s := range m.segs {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}
