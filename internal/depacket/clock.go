package depacket

import "time"

// wallClock maps presentation times to wall-clock times for one session.
//
// With a usable sender clock (RTCP sender reports) each unit takes its
// NTP time. Otherwise the first unit anchors the mapping at its arrival
// time and later units add their PTS distance; when that drifts more than
// `jump` from the arrival time (the camera's clock jumped, or the stream
// stalled), the mapping is anchored again.
type wallClock struct {
	jump     time.Duration
	trustNTP bool

	anchored   bool
	anchorWall time.Time
	anchorPTS  time.Duration
	lastNow    time.Time     // arrival of the previous unit
	lastPTS    time.Duration // and its PTS
}

// wall returns the wall time of a unit with the given PTS. jumped reports a
// re-anchoring after a sudden break (the camera's clock jumped, or the
// stream stalled and resumed): the caller starts a new publish session.
// skew is the distance that caused it, or, when the sender clock was
// ignored for being too far off, that distance.
//
// A drift that built up while units kept arriving (a reader that fell
// behind, or a camera clock running fast or slow) is re-anchored quietly:
// decode times stay continuous, so nothing downstream needs to restart.
func (c *wallClock) wall(pts time.Duration, ntp time.Time, ntpOK bool, now time.Time) (w time.Time, jumped bool, skew time.Duration) {
	prevNow, prevPTS := c.lastNow, c.lastPTS
	c.lastNow, c.lastPTS = now, pts
	if ntpOK {
		d := ntp.Sub(now)
		if c.trustNTP || absDuration(d) <= c.jump {
			c.anchored, c.anchorWall, c.anchorPTS = true, ntp, pts
			return ntp, false, 0
		}
		skew = d
	}
	if !c.anchored {
		c.anchored, c.anchorWall, c.anchorPTS = true, now, pts
		return now, false, skew
	}
	w = c.anchorWall.Add(pts - c.anchorPTS)
	if d := w.Sub(now); absDuration(d) > c.jump {
		c.anchorWall, c.anchorPTS = now, pts
		if prevNow.IsZero() || now.Sub(prevNow) > c.jump/2 || absDuration(pts-prevPTS) > c.jump/2 {
			return now, true, d
		}
		return now, false, 0 // drift: re-anchored quietly
	}
	return w, false, skew
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
