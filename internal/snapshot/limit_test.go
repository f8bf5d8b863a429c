package snapshot

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

// MaxConcurrent+2 snapshots at once: never more than MaxConcurrent ffmpeg
// processes; with a short QueueWait the others are answered 429, with a
// long one they all wait their turn and succeed.
func TestConcurrencyCap(t *testing.T) {
	const maxConc = 2
	cases := []struct {
		name      string
		wait      time.Duration
		allSucced bool
	}{
		{"queue then 429", time.Millisecond, false},
		{"queue long enough", 20 * time.Second, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := publishClip(t, 39)
			s := New(Config{MaxConcurrent: maxConc, QueueWait: tc.wait}, Deps{Streams: streamMap{"cam-1": st}})
			codes := make([]int, maxConc+2)
			var wg sync.WaitGroup
			for i := range codes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					w := get(t, s, admin, "cam-1", "")
					codes[i] = w.Code
					if w.Code == http.StatusOK && w.Header().Get("Content-Type") != "image/jpeg" {
						t.Errorf("200 without a JPEG")
					}
					if w.Code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
						t.Errorf("429 without Retry-After")
					}
				}()
			}
			wg.Wait()
			ok := 0
			for _, c := range codes {
				switch c {
				case http.StatusOK:
					ok++
				case http.StatusTooManyRequests:
					if tc.allSucced {
						t.Errorf("429 although the queue wait is long")
					}
				default:
					t.Errorf("status %d", c)
				}
			}
			peak := s.peak.Load()
			t.Logf("statuses %v, at most %d ffmpeg at once", codes, peak)
			if ok == 0 || peak > maxConc || (tc.allSucced && peak != maxConc) {
				t.Errorf("%d succeeded, peak %d ffmpeg processes with a cap of %d", ok, peak, maxConc)
			}
			if n := s.running.Load(); n != 0 {
				t.Errorf("%d ffmpeg processes still counted as running", n)
			}
		})
	}
}
