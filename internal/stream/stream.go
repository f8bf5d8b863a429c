// Package stream owns the per-camera fan-out: one publisher writes access
// units, any number of readers receive them.
//
// Readers are called inline on the publisher's goroutine and must never
// block; a reader that needs to do slow work wraps itself in a Queue, a
// bounded ring that drops (and counts) its own frames when it falls behind,
// so a slow reader never delays the publisher or the other readers.
//
// The stream keeps the current GOP (every unit since the last video
// keyframe), so a reader that joins mid-stream starts on a keyframe at once.
package stream

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/vigil-video/vigil/internal/media"
)

// ErrClosed is returned when writing through a publisher that was replaced
// or closed.
var ErrClosed = errors.New("stream: publisher closed")

// Reader receives a stream's data. Its methods are called inline on the
// publisher's goroutine, serialised, and must return quickly.
type Reader interface {
	// Begin starts a publish session with the given tracks.
	Begin(tracks []media.Track)
	// Write delivers one access unit of the current session. au is shared
	// and immutable.
	Write(au *media.AccessUnit)
	// End ends the current publish session (publisher gone).
	End()
}

// Options configure a Stream.
type Options struct {
	// MaxGOPBytes caps the kept GOP; past it the GOP cache is cleared until
	// the next keyframe. It defaults to 8 MiB.
	MaxGOPBytes int
}

// Stream is one camera's live stream.
type Stream struct {
	name string
	opts Options

	mu       sync.Mutex
	pub      *Publisher
	tracks   []media.Track
	readers  []Reader
	gop      []*media.AccessUnit
	gopBytes int
	gopValid bool
	rate     rateCounter
	// goneDrops counts the drops of readers already removed.
	goneDrops uint64
}

// dropCounter is implemented by readers that drop units (Queue).
type dropCounter interface{ Dropped() uint64 }

// New returns an idle stream.
func New(name string, opts Options) *Stream {
	if opts.MaxGOPBytes <= 0 {
		opts.MaxGOPBytes = 8 << 20
	}
	return &Stream{name: name, opts: opts}
}

// Name returns the stream's name (the camera id).
func (s *Stream) Name() string { return s.name }

// Publish starts a new publish session. A previous publisher, if any, is
// closed first: its later writes return ErrClosed.
func (s *Stream) Publish(tracks []media.Track) *Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub != nil {
		s.endLocked()
	}
	p := &Publisher{s: s}
	s.pub = p
	s.tracks = append([]media.Track(nil), tracks...)
	s.gop = s.gop[:0]
	s.gopBytes = 0
	s.gopValid = false
	for _, r := range s.readers {
		r.Begin(s.tracks)
	}
	return p
}

func (s *Stream) endLocked() {
	for _, r := range s.readers {
		r.End()
	}
	s.pub.closed = true
	s.pub = nil
	s.tracks = nil
	clear(s.gop)
	s.gop = s.gop[:0]
	s.gopBytes = 0
	s.gopValid = false
}

// Tracks returns the current session's tracks, or nil when nobody publishes.
func (s *Stream) Tracks() []media.Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tracks
}

// GOP returns the current session's tracks and a copy of the kept GOP (the
// units since the last video keyframe, starting with it), or nil tracks
// when nobody publishes. The GOP is empty until the first keyframe, or
// after one grew past Options.MaxGOPBytes. The units are shared and
// immutable.
func (s *Stream) GOP() ([]media.Track, []*media.AccessUnit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pub == nil {
		return nil, nil
	}
	if !s.gopValid {
		return s.tracks, nil
	}
	return s.tracks, slices.Clone(s.gop)
}

// AddReader attaches r. When a session is in progress r receives Begin and
// then the kept GOP, so it starts on a keyframe.
func (s *Stream) AddReader(r Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readers = append(s.readers, r)
	if s.pub == nil {
		return
	}
	r.Begin(s.tracks)
	if s.gopValid {
		for _, au := range s.gop {
			r.Write(au)
		}
	}
}

// RemoveReader detaches r; it receives End if a session is in progress.
func (s *Stream) RemoveReader(r Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.readers {
		if x == r {
			s.readers = append(s.readers[:i], s.readers[i+1:]...)
			if d, ok := r.(dropCounter); ok {
				s.goneDrops += d.Dropped()
			}
			if s.pub != nil {
				r.End()
			}
			return
		}
	}
}

// Stats is a snapshot of the stream's activity.
type Stats struct {
	Publishing bool
	Readers    int
	// Frames and Bytes count video units and all payload bytes since New.
	Frames, Bytes uint64
	// FPS and Bitrate (bits/s) over the last few seconds.
	FPS     float64
	Bitrate float64
	// LastFrame is the arrival time of the latest unit (zero if none).
	LastFrame time.Time
	// ReaderDrops counts units that slow readers dropped, since New.
	ReaderDrops uint64
}

// Stats returns a snapshot of the stream's counters.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Publishing: s.pub != nil, Readers: len(s.readers)}
	st.Frames, st.Bytes, st.FPS, st.Bitrate, st.LastFrame = s.rate.snapshot(time.Now())
	st.ReaderDrops = s.goneDrops
	for _, r := range s.readers {
		if d, ok := r.(dropCounter); ok {
			st.ReaderDrops += d.Dropped()
		}
	}
	return st
}

// Publisher is the write side of one publish session.
type Publisher struct {
	s      *Stream
	closed bool
}

// Write fans au out to every reader. Units of non-video tracks before the
// first video keyframe are delivered too; readers decide what to keep.
func (p *Publisher) Write(au *media.AccessUnit) error {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	video := au.Track < len(s.tracks) && s.tracks[au.Track].IsVideo()
	s.rate.add(time.Now(), video, au.Size())
	s.keepGOP(au, video)
	for _, r := range s.readers {
		r.Write(au)
	}
	return nil
}

func (s *Stream) keepGOP(au *media.AccessUnit, video bool) {
	if video && au.Key {
		clear(s.gop)
		s.gop = s.gop[:0]
		s.gopBytes = 0
		s.gopValid = true
	}
	if !s.gopValid {
		return
	}
	if s.gopBytes+au.Size() > s.opts.MaxGOPBytes {
		clear(s.gop)
		s.gop = s.gop[:0]
		s.gopBytes = 0
		s.gopValid = false
		return
	}
	s.gop = append(s.gop, au)
	s.gopBytes += au.Size()
}

// Close ends the session if p is still the stream's publisher.
func (p *Publisher) Close() {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return
	}
	s.endLocked()
}
