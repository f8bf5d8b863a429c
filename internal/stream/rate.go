package stream

import "time"

const rateBuckets = 4

// rateCounter keeps totals and per-second buckets to derive fps and bitrate.
type rateCounter struct {
	frames, bytes uint64
	last          time.Time
	sec           [rateBuckets]int64
	fr            [rateBuckets]uint32
	by            [rateBuckets]uint64
}

func (r *rateCounter) add(now time.Time, video bool, n int) {
	r.last = now
	r.bytes += uint64(n)
	sec := now.Unix()
	i := sec % rateBuckets
	if r.sec[i] != sec {
		r.sec[i], r.fr[i], r.by[i] = sec, 0, 0
	}
	r.by[i] += uint64(n)
	if video {
		r.frames++
		r.fr[i]++
	}
}

// snapshot reports totals and the rates over the last complete seconds.
func (r *rateCounter) snapshot(now time.Time) (frames, bytes uint64, fps, bitrate float64, last time.Time) {
	cur := now.Unix()
	var fsum uint32
	var bsum uint64
	n := 0
	for back := int64(1); back < rateBuckets; back++ {
		sec := cur - back
		i := sec % rateBuckets
		n++
		if r.sec[i] == sec {
			fsum += r.fr[i]
			bsum += r.by[i]
		}
	}
	return r.frames, r.bytes, float64(fsum) / float64(n), float64(bsum*8) / float64(n), r.last
}
