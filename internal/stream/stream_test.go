package stream

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigil-video/vigil/internal/media"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var testTracks = []media.Track{
	{ID: 0, Codec: media.CodecH264, ClockRate: 90000},
	{ID: 1, Codec: media.CodecAAC, ClockRate: 48000},
}

// logReader records what it is told.
type logReader struct {
	mu     sync.Mutex
	begins int
	ends   int
	units  []*media.AccessUnit
}

func (l *logReader) Begin([]media.Track) { l.mu.Lock(); l.begins++; l.mu.Unlock() }
func (l *logReader) End()                { l.mu.Lock(); l.ends++; l.mu.Unlock() }
func (l *logReader) Write(au *media.AccessUnit) {
	l.mu.Lock()
	l.units = append(l.units, au)
	l.mu.Unlock()
}

func video(i int, key bool) *media.AccessUnit {
	return &media.AccessUnit{Track: 0, DTS: int64(i) * 3600, PTS: int64(i) * 3600, Key: key, NALUs: [][]byte{make([]byte, 96)}}
}

func TestLateReaderStartsOnKeyframe(t *testing.T) {
	cases := []struct {
		name      string
		frames    int // written before the reader joins, GOP of 10
		wantFirst int64
		wantN     int
	}{
		{"before any keyframe", 0, 0, 0},
		{"mid GOP", 15, 10 * 3600, 5},
		{"right after keyframe", 21, 20 * 3600, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := New("cam", Options{})
			p := s.Publish(testTracks)
			for i := 0; i < tc.frames; i++ {
				p.Write(video(i, i%10 == 0))
			}
			r := &logReader{}
			s.AddReader(r)
			if r.begins != 1 || len(r.units) != tc.wantN {
				t.Fatalf("begins %d units %d, want 1 and %d", r.begins, len(r.units), tc.wantN)
			}
			if tc.wantN > 0 && (r.units[0].DTS != tc.wantFirst || !r.units[0].Key) {
				t.Fatalf("first unit %+v", r.units[0])
			}
		})
	}
}

func TestGOPSnapshot(t *testing.T) {
	s := New("cam", Options{})
	if tr, gop := s.GOP(); tr != nil || gop != nil {
		t.Fatalf("idle stream: %v tracks, %d units", tr, len(gop))
	}
	p := s.Publish(testTracks)
	p.Write(video(0, false)) // before any keyframe: nothing kept
	if tr, gop := s.GOP(); len(tr) != len(testTracks) || len(gop) != 0 {
		t.Fatalf("before keyframe: %d tracks, %d units", len(tr), len(gop))
	}
	for i := 1; i <= 13; i++ {
		p.Write(video(i, i%10 == 0))
	}
	_, gop := s.GOP()
	if len(gop) != 4 || !gop[0].Key || gop[0].DTS != 10*3600 {
		t.Fatalf("mid GOP: %d units, first key %v dts %d", len(gop), len(gop) > 0 && gop[0].Key, gop[0].DTS)
	}
	p.Write(video(14, false))
	if len(gop) != 4 {
		t.Fatal("the returned GOP changed after a write")
	}
	p.Close()
	if tr, gop := s.GOP(); tr != nil || gop != nil {
		t.Fatal("GOP kept after the publisher closed")
	}
}

func TestGOPCacheBounded(t *testing.T) {
	s := New("cam", Options{MaxGOPBytes: 1000})
	p := s.Publish(testTracks)
	for i := 0; i < 30; i++ { // one long GOP of 3000 bytes
		p.Write(video(i, i == 0))
	}
	r := &logReader{}
	s.AddReader(r)
	if len(r.units) != 0 {
		t.Fatalf("oversized GOP replayed %d units", len(r.units))
	}
}

func TestPublishReplacesAndEnds(t *testing.T) {
	s := New("cam", Options{})
	r := &logReader{}
	s.AddReader(r)
	p1 := s.Publish(testTracks)
	p1.Write(video(0, true))
	p2 := s.Publish(testTracks)
	if err := p1.Write(video(1, false)); err != ErrClosed {
		t.Fatalf("old publisher write: %v", err)
	}
	p2.Write(video(0, true))
	p1.Close() // no effect on the new session
	if !s.Stats().Publishing {
		t.Fatal("closing the replaced publisher ended the new session")
	}
	p2.Close()
	if r.begins != 2 || r.ends != 2 || len(r.units) != 2 {
		t.Fatalf("begins %d ends %d units %d", r.begins, r.ends, len(r.units))
	}
	if s.Tracks() != nil || s.Stats().Publishing {
		t.Fatal("stream still publishing")
	}
	s.RemoveReader(r)
	if r.ends != 2 {
		t.Fatal("End after session already ended")
	}
}

// A reader that never reads loses its own frames and never delays the
// publisher or a fast reader.
func TestSlowReaderDropsOnlyItsOwn(t *testing.T) {
	s := New("cam", Options{})
	slow := NewQueue(QueueOptions{MaxUnits: 8})
	fast := &logReader{}
	s.AddReader(slow)
	s.AddReader(fast)
	p := s.Publish(testTracks)
	for i := 0; i < 100; i++ {
		p.Write(video(i, i%25 == 0))
	}
	if len(fast.units) != 100 {
		t.Fatalf("fast reader got %d", len(fast.units))
	}
	if slow.Dropped() != 100-8 || s.Stats().ReaderDrops != 92 {
		t.Fatalf("slow reader dropped %d (stream counts %d), want 92", slow.Dropped(), s.Stats().ReaderDrops)
	}
	// After the drop the queue resumes on a keyframe only.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var got []Item
	for i := 0; i < 9; i++ { // Begin + 8 units
		it, err := slow.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, it)
	}
	if got[0].Kind != ItemBegin || got[1].Unit.DTS != 0 {
		t.Fatalf("queue order: %+v", got[:2])
	}
	p.Write(video(100, false)) // still waiting for a keyframe
	p.Write(video(125, true))
	it, _ := slow.Next(ctx)
	if !it.Unit.Key || it.Unit.DTS != 125*3600 {
		t.Fatalf("resumed on %+v, want the keyframe", it.Unit)
	}
	drops := s.Stats().ReaderDrops
	s.RemoveReader(slow)
	if drops != 93 || s.Stats().ReaderDrops != drops {
		t.Fatalf("reader drops %d, then %d after removing the reader; want 93", drops, s.Stats().ReaderDrops)
	}
}

func TestQueueControlItemsNeverLost(t *testing.T) {
	q := NewQueue(QueueOptions{MaxUnits: 4})
	q.Begin(testTracks)
	for i := 0; i < 20; i++ {
		q.Write(video(i, i == 0))
		q.End()
		q.Begin(testTracks)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	last := ItemKind(0)
	for {
		cctx, c2 := context.WithTimeout(ctx, 20*time.Millisecond)
		it, err := q.Next(cctx)
		c2()
		if err != nil {
			break
		}
		last = it.Kind
	}
	if last != ItemBegin {
		t.Fatalf("last item %v, want the final Begin", last)
	}
}

func TestQueueNextHonoursContext(t *testing.T) {
	q := NewQueue(QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := q.Next(ctx); err == nil {
		t.Fatal("Next on cancelled context returned an item")
	}
}

func TestStatsRates(t *testing.T) {
	var r rateCounter
	base := time.Unix(1000, 0)
	for sec := 0; sec < 4; sec++ {
		for f := 0; f < 25; f++ {
			r.add(base.Add(time.Duration(sec)*time.Second+time.Duration(f)*40*time.Millisecond), true, 1000)
		}
	}
	frames, bytes, fps, bitrate, _ := r.snapshot(base.Add(4 * time.Second))
	if frames != 100 || bytes != 100000 || fps != 25 || bitrate != 200000 {
		t.Fatalf("frames %d bytes %d fps %v bitrate %v", frames, bytes, fps, bitrate)
	}
}

func TestConcurrentReaders(t *testing.T) {
	s := New("cam", Options{})
	p := s.Publish(testTracks)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				q := NewQueue(QueueOptions{MaxUnits: 16})
				s.AddReader(q)
				s.RemoveReader(q)
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		p.Write(video(i, i%25 == 0))
	}
	cancel()
	wg.Wait()
	p.Close()
}

func BenchmarkWriteFourReaders(b *testing.B) {
	s := New("cam", Options{})
	for i := 0; i < 4; i++ {
		s.AddReader(NewQueue(QueueOptions{MaxUnits: 64}))
	}
	p := s.Publish(testTracks)
	au := video(1, false)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p.Write(au)
	}
}
