package record

import "sync"

// Lanes and the worker pool.
//
// Each camera has a lane: its jobs in order. Workers take a ready lane,
// run the jobs it holds, and hand it back; a camera's jobs therefore run
// in order, one at a time, and never wait behind another camera's.
//
// Workers are started as lanes become ready while none is idle, up to
// Config.Workers. Normally one or two suffice (a fragment a second per
// camera, written in about a millisecond). But a worker that makes a
// system call hands its P to other goroutines and, on return, queues for
// one behind every runnable goroutine: when the hub is briefly short of
// CPU (hundreds of connections catching up after a start or a stall, each
// reader running its whole time slice) a write then waits hundreds of
// milliseconds for a P, and a fixed handful of workers falls further
// behind every second until the cameras' queues overflow, with the disk
// idle. Ready lanes piling up start more workers, so the writes in flight
// grow with the backlog and the queues drain (BENCHMARKS.md, "The
// 400-stream collapse").

type laneState int

const (
	laneIdle    laneState = iota // no jobs, not queued
	laneReady                    // in the ready queue
	laneRunning                  // a worker runs its jobs
)

// lane is one camera's job queue; pool.mu guards it.
type lane struct {
	jobs  []job
	spare []job
	state laneState
}

// pool runs lanes' jobs on workers started on demand.
type pool struct {
	do  func(*job)
	max int

	mu      sync.Mutex
	cond    *sync.Cond
	ready   []*lane
	idle    int // workers waiting for a ready lane
	workers int
	started bool // Run began: workers may start
	closed  bool
	wg      sync.WaitGroup
}

func newPool(max int, do func(*job)) *pool {
	p := &pool{do: do, max: max}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// push appends j to l; false once the pool is closed.
func (p *pool) push(l *lane, j job) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	l.jobs = append(l.jobs, j)
	if l.state == laneIdle {
		l.state = laneReady
		p.ready = append(p.ready, l)
		p.wake()
	}
	return true
}

// wake gets a worker for a ready lane: an idle one, or a new one.
func (p *pool) wake() {
	switch {
	case !p.started:
	case p.idle > 0:
		p.cond.Signal()
	case p.workers < p.max:
		p.workers++
		p.wg.Add(1)
		go p.work()
	}
}

// start lets workers start, and starts them for lanes already ready.
func (p *pool) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started = true
	for range p.ready {
		p.wake()
	}
}

// work runs ready lanes until the pool is closed and drained.
func (p *pool) work() {
	defer p.wg.Done()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for len(p.ready) == 0 && !p.closed {
			p.idle++
			p.cond.Wait()
			p.idle--
		}
		if len(p.ready) == 0 {
			return // closed and drained
		}
		l := p.ready[0]
		p.ready[0] = nil
		p.ready = p.ready[1:]
		l.state = laneRunning
		jobs := l.jobs
		l.jobs, l.spare = l.spare[:0], nil
		p.mu.Unlock()
		for i := range jobs {
			p.do(&jobs[i])
			jobs[i] = job{}
		}
		p.mu.Lock()
		l.spare = jobs[:0]
		if len(l.jobs) > 0 {
			l.state = laneReady
			p.ready = append(p.ready, l)
		} else {
			l.state = laneIdle
		}
	}
}

// close refuses new jobs and waits until the workers ran every job queued.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}
