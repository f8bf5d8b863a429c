package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// hlsViewer is a minimal live (LL-)HLS client that models a player: it
// fetches every new part (or, without parts, every new segment) of a live
// playlist, using blocking playlist reloads when the server offers them,
// and tracks how long playback would have stalled: the playhead starts
// with the first media received and advances in real time; whenever it
// catches up with the media received so far, the player stalls until more
// arrives.
type hlsViewer struct {
	client *http.Client
	url    string // live.m3u8
	token  string

	seen     map[string]bool
	buffered time.Duration // media received since the first
	started  time.Time     // when the first media arrived
	lastTick time.Time
	playhead time.Duration // media played
	stalled  time.Duration // total stall
	maxStall time.Duration
	stallAt  time.Time // when the current stall began (zero: playing)
	bytes    atomic.Int64
	requests int
	errs     int
}

// playlist is what the viewer needs from a media playlist.
type playlist struct {
	media     []mediaRef // parts (when present) or segments, in order
	nextMSN   int        // for blocking reload: the part after the last listed
	nextPart  int
	canBlock  bool
	target    time.Duration // part target, or target duration
	hasParts  bool
	sequence0 int
}

type mediaRef struct {
	uri      string
	byteRng  string
	duration time.Duration
}

// run plays until ctx ends.
func (v *hlsViewer) run(ctx context.Context) {
	v.seen = map[string]bool{}
	var pl *playlist
	for ctx.Err() == nil {
		u := v.url
		if pl != nil && pl.canBlock && pl.hasParts {
			u += fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", pl.nextMSN, pl.nextPart)
		}
		next, err := v.fetchPlaylist(ctx, u)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			v.errs++
			sleepCtx(ctx, 200*time.Millisecond)
			continue
		}
		newMedia := false
		for _, m := range next.media {
			key := m.uri + "#" + m.byteRng
			if v.seen[key] {
				continue
			}
			if pl == nil && len(v.seen) == 0 && !isLastFew(next.media, m, 3) {
				v.seen[key] = true // join near the live edge, like players do
				continue
			}
			if err := v.fetchMedia(ctx, m); err != nil {
				if ctx.Err() != nil {
					return
				}
				v.errs++
				break
			}
			v.seen[key] = true
			v.received(m.duration)
			newMedia = true
		}
		pl = next
		if !newMedia && !(pl.canBlock && pl.hasParts) {
			sleepCtx(ctx, max(pl.target/2, 100*time.Millisecond))
		}
		v.tick(time.Now())
	}
}

func isLastFew(all []mediaRef, m mediaRef, n int) bool {
	for i := max(0, len(all)-n); i < len(all); i++ {
		if all[i] == m {
			return true
		}
	}
	return false
}

// received adds d of media to the buffer.
func (v *hlsViewer) received(d time.Duration) {
	now := time.Now()
	if v.started.IsZero() {
		v.started, v.lastTick = now, now
	}
	v.tick(now)
	if !v.stallAt.IsZero() {
		s := now.Sub(v.stallAt)
		v.stalled += s
		v.maxStall = max(v.maxStall, s)
		v.stallAt = time.Time{}
	}
	v.buffered += d
}

// tick advances the playhead to now and notices when it runs out of media.
func (v *hlsViewer) tick(now time.Time) {
	if v.started.IsZero() {
		return
	}
	if v.stallAt.IsZero() {
		v.playhead += now.Sub(v.lastTick)
		if v.playhead > v.buffered {
			v.stallAt = now.Add(-(v.playhead - v.buffered))
			v.playhead = v.buffered
		}
	}
	v.lastTick = now
}

// finish closes an ongoing stall at the end of the run.
func (v *hlsViewer) finish(now time.Time) {
	v.tick(now)
	if !v.stallAt.IsZero() {
		s := now.Sub(v.stallAt)
		v.stalled += s
		v.maxStall = max(v.maxStall, s)
	}
}

func (v *hlsViewer) get(ctx context.Context, u, rng string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+v.token)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	v.requests++
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return resp, nil
}

func (v *hlsViewer) fetchPlaylist(ctx context.Context, u string) (*playlist, error) {
	resp, err := v.get(ctx, u, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return parsePlaylist(resp.Body, resp.Request.URL)
}

func (v *hlsViewer) fetchMedia(ctx context.Context, m mediaRef) error {
	rng := ""
	if m.byteRng != "" {
		r, err := httpRange(m.byteRng)
		if err != nil {
			return err
		}
		rng = r
	}
	resp, err := v.get(ctx, m.uri, rng)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	v.bytes.Add(n)
	return err
}

// httpRange turns an HLS BYTERANGE "len@off" into an HTTP Range header.
func httpRange(br string) (string, error) {
	l, o, ok := strings.Cut(br, "@")
	n, err1 := strconv.ParseInt(l, 10, 64)
	off, err2 := strconv.ParseInt(o, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 || off < 0 {
		return "", fmt.Errorf("byte range %q: need len@offset", br)
	}
	return fmt.Sprintf("bytes=%d-%d", off, off+n-1), nil
}

// parsePlaylist reads the parts of a live media playlist, or its segments
// when it has no parts.
func parsePlaylist(r io.Reader, base *url.URL) (*playlist, error) {
	pl := &playlist{}
	var segs, parts []mediaRef
	var extinf time.Duration
	partsOfOpen := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return nil, errors.New("playlist: no #EXTM3U")
			}
			first = false
			continue
		}
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			pl.sequence0, _ = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			s, _ := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"))
			if pl.target == 0 {
				pl.target = time.Duration(s) * time.Second
			}
		case strings.HasPrefix(line, "#EXT-X-PART-INF:"):
			a := attrs(strings.TrimPrefix(line, "#EXT-X-PART-INF:"))
			pl.target = secs(a["PART-TARGET"])
		case strings.HasPrefix(line, "#EXT-X-SERVER-CONTROL:"):
			a := attrs(strings.TrimPrefix(line, "#EXT-X-SERVER-CONTROL:"))
			pl.canBlock = a["CAN-BLOCK-RELOAD"] == "YES"
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			a := attrs(strings.TrimPrefix(line, "#EXT-X-PART:"))
			u, err := base.Parse(a["URI"])
			if err != nil {
				return nil, fmt.Errorf("playlist: part uri: %w", err)
			}
			parts = append(parts, mediaRef{uri: u.String(), byteRng: a["BYTERANGE"], duration: secs(a["DURATION"])})
			partsOfOpen++
		case strings.HasPrefix(line, "#EXTINF:"):
			d, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			extinf = secs(d)
		case line != "" && !strings.HasPrefix(line, "#"):
			u, err := base.Parse(line)
			if err != nil {
				return nil, fmt.Errorf("playlist: segment uri: %w", err)
			}
			segs = append(segs, mediaRef{uri: u.String(), duration: extinf})
			partsOfOpen = 0
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if first {
		return nil, errors.New("playlist: empty")
	}
	pl.hasParts = len(parts) > 0
	if pl.hasParts {
		pl.media = parts
	} else {
		pl.media = segs
	}
	// the next part: of the open segment, whose msn follows the listed ones
	pl.nextMSN, pl.nextPart = pl.sequence0+len(segs), partsOfOpen
	return pl, nil
}

// attrs parses an HLS attribute list (KEY=VALUE,KEY="VALUE").
func attrs(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				break
			}
			v, rest = rest[1:1+end], rest[2+end:]
			rest = strings.TrimPrefix(rest, ",")
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		out[strings.TrimSpace(k)] = v
		s = rest
	}
	return out
}

func secs(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 0 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}
