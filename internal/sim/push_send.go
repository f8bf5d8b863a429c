package sim

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
	"time"
)

// send streams the clip in real time on an established RECORD session:
// one write per frame, the frame's template copied and its RTP headers
// patched with this stream's sequence numbers, timestamp and SSRC.
// Streams start staggered over one frame interval to spread the load.
func (c *pushConn) send(ctx context.Context, i int, frames *atomic.Uint64) error {
	var ids [10]byte
	_, _ = rand.Read(ids[:])
	seq := binary.BigEndian.Uint16(ids[0:2])
	tsBase := binary.BigEndian.Uint32(ids[2:6])
	ssrc := binary.BigEndian.Uint32(ids[6:10])

	tmpl, dur := c.p.tmpl, c.p.pkts.duration
	buf := make([]byte, maxWire(tmpl))
	start := time.Now().Add(c.p.pkts.frameDuration() * time.Duration(i) / time.Duration(c.p.cameras))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := int64(0); ; n++ {
		t := &tmpl[n%int64(len(tmpl))]
		offset := (n / int64(len(tmpl))) * dur
		timer.Reset(time.Until(start.Add(ticks(offset + t.dts))))
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		b := buf[:len(t.wire)]
		copy(b, t.wire)
		ts := tsBase + uint32(offset+t.pts)
		for _, h := range t.headers {
			binary.BigEndian.PutUint16(b[h+2:], seq)
			binary.BigEndian.PutUint32(b[h+4:], ts)
			binary.BigEndian.PutUint32(b[h+8:], ssrc)
			seq++
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.p.timeout))
		if ctx.Err() != nil { // a cancel after this point expires the deadline
			return nil
		}
		if _, err := c.nc.Write(b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		frames.Add(1)
	}
}

func maxWire(tmpl []frameTemplate) int {
	m := 0
	for _, t := range tmpl {
		m = max(m, len(t.wire))
	}
	return m
}
