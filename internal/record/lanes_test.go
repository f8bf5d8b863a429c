package record

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolRunsEachLaneInOrder: every job runs once, each lane's in the
// order queued and never on two workers at once, and close drains.
func TestPoolRunsEachLaneInOrder(t *testing.T) {
	const lanes, perLane = 50, 200
	var mu sync.Mutex
	got := map[string][]int64{}
	busy := map[string]bool{}
	var overlap atomic.Bool
	p := newPool(8, func(j *job) {
		name := j.gap.Camera
		mu.Lock()
		if busy[name] {
			overlap.Store(true)
		}
		busy[name] = true
		mu.Unlock()
		time.Sleep(time.Microsecond)
		mu.Lock()
		busy[name] = false
		got[name] = append(got[name], j.bytes)
		mu.Unlock()
	})
	p.start()
	ls := make([]*lane, lanes)
	for i := range ls {
		ls[i] = &lane{}
	}
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Go(func() {
			for n := range perLane {
				j := job{bytes: int64(n)}
				j.gap.Camera = fmt.Sprint("cam", i)
				if !p.push(l, j) {
					t.Error("push refused before close")
				}
			}
		})
	}
	wg.Wait()
	p.close()
	if overlap.Load() {
		t.Error("a lane ran on two workers at once")
	}
	if len(got) != lanes {
		t.Fatalf("%d lanes ran, want %d", len(got), lanes)
	}
	for name, seq := range got {
		if len(seq) != perLane {
			t.Fatalf("%s: %d jobs ran, want %d", name, len(seq), perLane)
		}
		for n, v := range seq {
			if v != int64(n) {
				t.Fatalf("%s: job %d ran as number %d", name, v, n)
			}
		}
	}
	if p.push(ls[0], job{}) {
		t.Error("push accepted after close")
	}
}

// TestPoolStartsWorkersForABacklog: while workers are blocked (a write
// waiting for the device or for a P), lanes that become ready start more
// workers, up to the bound, and only as many as there is work for.
func TestPoolStartsWorkersForABacklog(t *testing.T) {
	release := make(chan struct{})
	var running, peak atomic.Int32
	p := newPool(5, func(j *job) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		running.Add(-1)
	})
	p.start()
	// one lane, many jobs: one worker
	one := &lane{}
	for range 10 {
		p.push(one, job{})
	}
	waitUntil(t, func() bool { return running.Load() == 1 })
	time.Sleep(20 * time.Millisecond)
	if w := p.workerCount(); w != 1 {
		t.Fatalf("%d workers for one lane", w)
	}
	// more lanes than the bound: the bound
	for range 20 {
		p.push(&lane{}, job{})
	}
	waitUntil(t, func() bool { return running.Load() == 5 })
	time.Sleep(20 * time.Millisecond)
	if w, r := p.workerCount(), running.Load(); w != 5 || r != 5 {
		t.Fatalf("%d workers, %d running; want 5", w, r)
	}
	close(release)
	p.close()
	if peak.Load() != 5 {
		t.Errorf("peak %d concurrent jobs, want 5", peak.Load())
	}
}

func (p *pool) workerCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
