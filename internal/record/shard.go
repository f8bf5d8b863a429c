package record

import "sync"

// shard is one writer goroutine's queue. Cameras map to shards by hash so
// one camera's jobs are always handled in order by the same goroutine.
type shard struct {
	mu     sync.Mutex
	cond   *sync.Cond
	jobs   []job
	spare  []job
	closed bool
}

func newShard() *shard {
	s := &shard{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *shard) push(j job) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.jobs = append(s.jobs, j)
	s.cond.Signal()
	return true
}

// take waits for jobs and returns all of them; ok is false once the shard is
// closed and drained.
func (s *shard) take() (jobs []job, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.jobs) == 0 && !s.closed {
		s.cond.Wait()
	}
	jobs = s.jobs
	s.jobs, s.spare = s.spare[:0], jobs
	return jobs, !(s.closed && len(jobs) == 0)
}

func (s *shard) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
}
