package record

import (
	"log/slog"
	"time"

	"github.com/vigil-video/vigil/internal/index"
	"github.com/vigil-video/vigil/internal/stream"
)

// Fragment is one complete fMP4 fragment cut by a Fragmenter.
type Fragment struct {
	// Init is the ftyp+moov of the fragment's layout. It is the same slice
	// while the layout is unchanged; the receiver must not modify it.
	Init []byte
	// Data is the fragment's moof+mdat, one contiguous slice owned by the
	// receiver. Its tfdt are relative to the start of the fragmenter's
	// current segment and its mfhd sequence numbers count per segment; a
	// hub importing it rebases both.
	Data []byte
	// Start is the wall time of the fragment's first video sample.
	Start time.Time
	// Duration is the video duration of the fragment.
	Duration time.Duration
	// Key says the fragment starts with a keyframe.
	Key bool
	// Frames is the number of video frames in the fragment.
	Frames int
}

// Fragmenter cuts a camera's stream into fMP4 fragments exactly as a
// Recorder does (the same code), but hands each complete fragment to a
// callback instead of a Writer: a gateway spools them. It implements
// stream.Reader and runs inline on the publisher's goroutine, and so does
// the callback. A gateway sets Config.KeyFragments: its fragments then
// start on keyframes (at least FragmentDuration long, up to the next
// keyframe), so whichever fragment a hub segment starts with decodes on
// its own. A reconnect (End, Begin) or a camera clock jump ends the
// running fragment; after either, fragments start again at a keyframe.
type Fragmenter struct {
	cutter
	emit   func(Fragment)
	wstats WriterStats
}

var _ stream.Reader = (*Fragmenter)(nil)

// NewFragmenter returns a fragmenter for camera. cfg's FragmentDuration
// and SegmentDuration apply (segments only set where the fragments' decode
// times count from); the writer settings are ignored. emit is called inline
// with every complete fragment.
func NewFragmenter(camera string, cfg Config, emit func(Fragment), log *slog.Logger) *Fragmenter {
	cfg.setDefaults()
	f := &Fragmenter{emit: emit}
	f.cutter = newCutter(camera, cfg, log, f, &f.wstats)
	return f
}

func (f *Fragmenter) sinkOpen(time.Time, []byte) bool { return true }

func (f *Fragmenter) sinkFragment(cf cutFragment) bool {
	data := make([]byte, 0, cf.bytes)
	data = append(data, cf.header...)
	for _, p := range cf.payload {
		data = append(data, p...)
	}
	f.emit(Fragment{Init: f.init, Data: data, Start: f.segStart.Add(cf.start), Duration: cf.dur, Key: cf.key, Frames: cf.frames})
	return true
}

func (f *Fragmenter) sinkClose() {}

// sinkGap: lost footage shows in the fragments' Start times.
func (f *Fragmenter) sinkGap(index.Gap) {}

func (f *Fragmenter) sinkFailed() (time.Time, bool) { return time.Time{}, false }
