// Package depacket turns an RTSP session (a gortsplib description and its
// RTP packets) into Vigil's media vocabulary: a []media.Track and a
// sequence of media.AccessUnits. The pull source (source/rtsp) and the
// ingest server share it.
//
// Supported: H.264 and H.265 video (AVCC payloads, keyframes flagged, DTS
// derived so B-frames work), AAC (RFC 3640 generic and LATM), Opus and
// G.711. Other formats are skipped with one log line.
//
// Every keyframe payload starts with the track's current parameter sets
// (VPS/SPS/PPS), whether they came in band or only in the SDP, so a keyframe
// can always be decoded on its own. Parameter sets that change in band
// update the track, and the Sink is told to start a new publish session.
//
// Malformed input never panics: broken packets are dropped and counted,
// and parameter sets that cannot be decoded or describe an absurd picture
// end the session with a *ParamsError.
package depacket

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/pion/rtp"

	"github.com/vigil-video/vigil/internal/media"
)

// ErrNoTracks is returned by New when the session has no supported track.
var ErrNoTracks = errors.New("no supported media track")

// ErrResolution is wrapped by a ParamsError whose SPS describes a picture
// that is empty or larger than Options.MaxWidth x Options.MaxHeight.
var ErrResolution = errors.New("resolution out of range")

// ParamsError reports video parameter sets that cannot be used: an SPS that
// does not parse, or one with an absurd resolution. The session cannot
// continue; the error is meant for the camera's status.
type ParamsError struct {
	// Track is the index of the track in Session.Tracks.
	Track int
	// Codec of the track.
	Codec media.Codec
	// Err says what is wrong.
	Err error
}

// Error implements error.
func (e *ParamsError) Error() string {
	return fmt.Sprintf("track %d (%s): invalid parameter sets: %v", e.Track, e.Codec, e.Err)
}

// Unwrap returns Err.
func (e *ParamsError) Unwrap() error { return e.Err }

// Timing gives the presentation time of a packet. *gortsplib.Client and
// *gortsplib.ServerSession implement it.
type Timing interface {
	// PacketPTS returns the packet's PTS in the format's clock rate,
	// unwrapped and relative to the session start.
	PacketPTS(medi *description.Media, pkt *rtp.Packet) (int64, bool)
	// PacketNTP returns the packet's absolute time from RTCP sender reports.
	PacketNTP(medi *description.Media, pkt *rtp.Packet) (time.Time, bool)
}

// Sink receives a session's output. Its methods are called serialised,
// possibly from several goroutines (one per UDP media), and must not block.
type Sink interface {
	// Tracks starts a publish session with these tracks. It is called
	// before the first unit, and again when the tracks change (new parameter
	// sets) or the timestamps restart (camera clock jump); the caller
	// publishes anew each time. The slice is the caller's to keep.
	Tracks(tracks []media.Track)
	// Unit delivers one access unit of the current publish session.
	Unit(au *media.AccessUnit)
	// Fail reports an error that ends the session (a *ParamsError). It is
	// called at most once; no call follows it.
	Fail(err error)
}

// Options configure a Session. Zero values take the defaults.
type Options struct {
	// Logger receives one line per skipped format and rate-limited
	// warnings. It defaults to a discarding logger.
	Logger *slog.Logger
	// Now returns the arrival time of a packet. It defaults to time.Now.
	Now func() time.Time
	// MaxWidth and MaxHeight bound the picture size an SPS may declare.
	// They default to 8192.
	MaxWidth, MaxHeight int
	// ClockJump is how far the timestamps may drift from the arrival
	// clock before the session is re-anchored. It defaults to 10 s.
	ClockJump time.Duration
	// TrustNTP uses the sender's RTCP clock even when it is far from the
	// local clock (a gateway replaying buffered video). By default a sender
	// clock more than ClockJump away from the local clock is ignored.
	TrustNTP bool
	// LogEvery is the shortest interval between two warnings of one kind.
	// It defaults to 30 s.
	LogEvery time.Duration
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxWidth <= 0 {
		o.MaxWidth = 8192
	}
	if o.MaxHeight <= 0 {
		o.MaxHeight = 8192
	}
	if o.ClockJump <= 0 {
		o.ClockJump = 10 * time.Second
	}
	if o.LogEvery <= 0 {
		o.LogEvery = 30 * time.Second
	}
	return o
}

// Stats counts what a session did.
type Stats struct {
	// Units is the number of access units delivered.
	Units uint64
	// Dropped counts units dropped: undecodable, before the first keyframe,
	// or before the parameter sets were known.
	Dropped uint64
	// Restarts counts publish sessions started after the first.
	Restarts uint64
}

// Session depacketises one RTSP session. Create it with New, then feed it
// every RTP packet with HandleRTP.
type Session struct {
	opts    Options
	timing  Timing
	sink    Sink
	medias  []*description.Media
	byForma map[format.Format]*trackState
	logs    *logLimiter

	mu       sync.Mutex // guards the fields below and serialises the Sink
	tracks   []media.Track
	states   []*trackState
	clock    wallClock
	begun    bool
	restart  bool
	failed   bool
	units    atomic.Uint64
	dropped  atomic.Uint64
	restarts atomic.Uint64
}

// New prepares a Session for desc. It returns ErrNoTracks when no media
// has a supported format, or a *ParamsError when the SDP carries unusable
// parameter sets. timing is usually the gortsplib Client or ServerSession.
func New(desc *description.Session, timing Timing, sink Sink, opts Options) (*Session, error) {
	opts = opts.withDefaults()
	s := &Session{
		opts:    opts,
		timing:  timing,
		sink:    sink,
		byForma: make(map[format.Format]*trackState),
		logs:    newLogLimiter(opts.Logger, opts.LogEvery),
	}
	s.clock = wallClock{jump: opts.ClockJump, trustNTP: opts.TrustNTP}
	if desc == nil {
		return nil, ErrNoTracks
	}
	for _, medi := range desc.Medias {
		if err := s.addMedia(medi); err != nil {
			return nil, err
		}
	}
	if len(s.tracks) == 0 {
		return nil, ErrNoTracks
	}
	return s, nil
}

// addMedia adds the first supported format of medi as a track.
func (s *Session) addMedia(medi *description.Media) error {
	if medi == nil {
		return nil
	}
	for _, forma := range medi.Formats {
		if forma == nil {
			continue
		}
		id := len(s.tracks)
		codec, track, err := newCodec(forma, id, s.opts)
		if err != nil {
			return err
		}
		if codec == nil {
			s.opts.Logger.Info("skipping unsupported format",
				"media", string(medi.Type), "codec", formatName(forma), "payload_type", forma.PayloadType())
			continue
		}
		st := &trackState{s: s, id: id, medi: medi, codec: codec, ready: !track.IsVideo() || hasParams(track)}
		s.tracks = append(s.tracks, track)
		s.states = append(s.states, st)
		s.byForma[forma] = st
		s.medias = append(s.medias, medi)
		s.skipOthers(medi, forma)
		return nil
	}
	return nil
}

func (s *Session) skipOthers(medi *description.Media, used format.Format) {
	for _, forma := range medi.Formats {
		if forma != nil && forma != used {
			s.opts.Logger.Info("skipping extra format of a media",
				"media", string(medi.Type), "codec", formatName(forma), "payload_type", forma.PayloadType())
		}
	}
}

// Tracks returns the tracks as known now (parameter sets may be missing
// until they arrive in band). The slice is a copy.
func (s *Session) Tracks() []media.Track {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneTracks(s.tracks)
}

// Medias returns the medias that produce a track, in track order: the ones
// a client needs to SETUP.
func (s *Session) Medias() []*description.Media { return s.medias }

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	return Stats{Units: s.units.Load(), Dropped: s.dropped.Load(), Restarts: s.restarts.Load()}
}

// HandleRTP processes one RTP packet of medi/forma. Packets of formats that
// are not tracks are ignored. It is safe for concurrent use by different
// medias; packets of one media must come in order from one goroutine.
//
// Video units keep slices of pkt.Payload (single NAL unit and aggregation
// packets), so the caller must not reuse a packet's payload buffer after
// the call; gortsplib allocates a fresh one for every packet it hands out.
func (s *Session) HandleRTP(medi *description.Media, forma format.Format, pkt *rtp.Packet) {
	st := s.byForma[forma]
	if st == nil || pkt == nil {
		return
	}
	pts, ok := s.timing.PacketPTS(medi, pkt)
	if !ok {
		return
	}
	st.handle(pkt, pts)
}

func formatName(forma format.Format) string {
	if name := forma.RTPMap(); name != "" {
		return name
	}
	return fmt.Sprintf("%T", forma)
}

func cloneTracks(tracks []media.Track) []media.Track {
	return append([]media.Track(nil), tracks...)
}

func hasParams(t media.Track) bool {
	switch t.Codec {
	case media.CodecH264:
		return t.SPS != nil && t.PPS != nil
	case media.CodecH265:
		return t.VPS != nil && t.SPS != nil && t.PPS != nil
	}
	return true
}
