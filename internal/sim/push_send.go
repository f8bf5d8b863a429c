package sim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"runtime"
	"sort"
	"time"
)

// streamsPerShard is how many streams one sender goroutine paces before
// another one is added (up to one per CPU). Waking up is what costs most,
// so few senders with much work per wake-up are cheapest; more senders
// keep one slow connection from delaying too many streams.
const streamsPerShard = 256

// pushStream is one stream's sending state; only its shard touches it.
type pushStream struct {
	c        *pushConn
	i        int
	seq      uint16
	tsBase   uint32
	ssrc     uint32
	start    time.Time
	n        int64 // next frame number
	buf      []byte
	deadline time.Time
	frames   uint64
	err      error
}

func newPushStream(c *pushConn, i int) *pushStream {
	var ids [10]byte
	_, _ = rand.Read(ids[:])
	return &pushStream{
		c: c, i: i,
		seq:    binary.BigEndian.Uint16(ids[0:2]),
		tsBase: binary.BigEndian.Uint32(ids[2:6]),
		ssrc:   binary.BigEndian.Uint32(ids[6:10]),
		buf:    make([]byte, maxWire(c.p.tmpl)),
	}
}

// runShards paces the streams from a few sender goroutines, until ctx
// ends or every stream failed. Each sender wakes every PushConfig.Tick
// and sends the frames that are due. Streams start staggered over one
// GOP, as the keyframes of independent cameras are not aligned: started
// together, every stream would send its keyframe in the same instant.
func (p *pusher) runShards(ctx context.Context, streams []*pushStream) {
	if len(streams) == 0 {
		return
	}
	sort.Slice(streams, func(a, b int) bool { return streams[a].i < streams[b].i })
	start := time.Now()
	for k, s := range streams {
		s.start = start.Add(p.pkts.gopDuration() * time.Duration(k) / time.Duration(len(streams)))
	}
	shards := min((len(streams)+streamsPerShard-1)/streamsPerShard, runtime.GOMAXPROCS(0))
	done := make(chan struct{}, shards)
	for sh := range shards {
		var mine []*pushStream
		for k := sh; k < len(streams); k += shards {
			mine = append(mine, streams[k])
		}
		go func() {
			defer func() { done <- struct{}{} }()
			p.runShard(ctx, mine)
		}()
	}
	for range shards {
		<-done
	}
}

func (p *pusher) runShard(ctx context.Context, streams []*pushStream) {
	tick := time.NewTicker(p.tick)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		alive := 0
		for _, s := range streams {
			for s.err == nil && !s.due().After(now) {
				s.sendFrame(ctx, now)
			}
			if s.err == nil {
				alive++
			}
		}
		if alive == 0 || ctx.Err() != nil {
			return
		}
	}
}

// due is when the stream's next frame should go out.
func (s *pushStream) due() time.Time {
	tmpl := s.c.p.tmpl
	t := &tmpl[s.n%int64(len(tmpl))]
	offset := (s.n / int64(len(tmpl))) * s.c.p.pkts.duration
	return s.start.Add(ticks(offset + t.dts))
}

// sendFrame writes the next frame: the template copied, its RTP headers
// patched with this stream's sequence numbers, timestamp and SSRC.
func (s *pushStream) sendFrame(ctx context.Context, now time.Time) {
	p := s.c.p
	t := &p.tmpl[s.n%int64(len(p.tmpl))]
	offset := (s.n / int64(len(p.tmpl))) * p.pkts.duration
	b := s.buf[:len(t.wire)]
	copy(b, t.wire)
	ts := s.tsBase + uint32(offset+t.pts)
	for _, h := range t.headers {
		binary.BigEndian.PutUint16(b[h+2:], s.seq)
		binary.BigEndian.PutUint32(b[h+4:], ts)
		binary.BigEndian.PutUint32(b[h+8:], s.ssrc)
		s.seq++
	}
	if now.After(s.deadline.Add(-p.timeout / 2)) { // refresh now and then, not per frame
		s.deadline = now.Add(p.timeout)
		_ = s.c.nc.SetWriteDeadline(s.deadline)
	}
	if _, err := s.c.nc.Write(b); err != nil {
		if ctx.Err() == nil {
			s.err = err
		} else {
			s.err = ctx.Err()
		}
		return
	}
	s.n++
	s.frames++
}

func maxWire(tmpl []frameTemplate) int {
	m := 0
	for _, t := range tmpl {
		m = max(m, len(t.wire))
	}
	return m
}
