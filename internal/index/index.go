// Package index defines the recordings index: the source of truth for sites,
// cameras, recorded segments (with the byte offset of every fragment),
// explicit gaps and events. Backends live in subpackages (index/sqlite now,
// index/postgres later) and all pass the conformance suite in
// index/indextest.
//
// No request ever walks the filesystem: everything a reader needs to find
// footage is here.
//
// Backends store times with microsecond precision and return them in UTC.
// Empty ids, cameras and paths are rejected with ErrInvalid. Time windows
// [from, to) select rows with Start < to and End > from; an empty window
// selects nothing. The SQLite layout is documented in docs/format/index.md.
package index

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors every backend returns (wrapped) so callers can branch.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrInvalid reports a bad argument, e.g. an empty id or a malformed
	// EventFilter.Cursor (an API answers it with 400).
	ErrInvalid = errors.New("invalid argument")
)

// Site is a location with cameras.
type Site struct {
	ID        string
	Name      string
	Region    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Camera is a configured camera. Source holds the full RTSP URL including
// credentials; callers that answer users must strip them.
type Camera struct {
	ID            string
	Name          string
	Site          string // site id; may be empty
	Source        string // RTSP URL to pull; empty: waits for a push
	Transport     string // "tcp", "udp" or "" (automatic)
	Record        bool
	RetentionDays int    // 0: hub default
	Analytics     string // JSON object of analytics settings ("{}" when none)
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// SegmentState is the lifecycle state of a segment row.
type SegmentState int

// Segment states.
const (
	// SegmentOpen: being written; End/Bytes/Fragments cover what is durable.
	SegmentOpen SegmentState = iota + 1
	// SegmentClosed: complete and immutable.
	SegmentClosed
	// SegmentDeleting: retention decided to delete it; the file may or may
	// not still exist. Never served.
	SegmentDeleting
)

// Fragment locates one moof+mdat pair inside a segment file.
type Fragment struct {
	// Offset of the fragment's moof box from the start of the file.
	Offset int64
	// Start of the fragment relative to the segment's Start.
	Start time.Duration
	// Key is true when the fragment begins with a video keyframe.
	Key bool
}

// Segment is one fMP4 file of one camera.
type Segment struct {
	ID        int64
	Camera    string
	Start     time.Time
	End       time.Time
	Bytes     int64  // durable length of the file
	Path      string // blob key, relative to the recordings root
	State     SegmentState
	InitSize  int64  // length of ftyp+moov at the file's start
	Codecs    string // e.g. "h264,aac"
	Fragments []Fragment
	// Origin is the id of the gateway spool the segment's fragments were
	// uploaded from; empty for footage the hub recorded itself.
	Origin string
	// FirstSeq is the spool sequence number of the segment's first
	// fragment (0 when Origin is empty); its fragments have the
	// consecutive numbers FirstSeq, FirstSeq+1, ...
	FirstSeq uint64
}

// SegmentUpdate appends durable progress to an open segment.
type SegmentUpdate struct {
	ID        int64
	End       time.Time
	Bytes     int64
	Fragments []Fragment // new fragments to append, in order
	Close     bool       // mark SegmentClosed
}

// GapState says whether missing footage may still arrive.
type GapState string

// Gap states, as the API reports them.
const (
	GapLost    GapState = "lost"
	GapPending GapState = "pending"
)

// Gap is an explicit record of footage that is missing, with why.
type Gap struct {
	ID     int64
	Camera string
	Start  time.Time
	End    time.Time
	State  GapState
	Reason string // e.g. "reconnect", "restart", "dropped", "retention"
}

// Event is something that happened at a camera or the hub.
type Event struct {
	ID     int64
	Camera string // may be empty (hub-wide events)
	Site   string
	Type   string // motion, camera_offline, camera_online, tamper, storage
	Start  time.Time
	End    time.Time // zero when ongoing or instantaneous
	Data   string    // JSON object with details ("{}" when none)
}

// EventEnd ends an ongoing event.
type EventEnd struct {
	ID  int64
	End time.Time
}

// EventFilter selects events. Zero fields do not filter.
type EventFilter struct {
	Camera string
	Site   string
	Type   string
	From   time.Time
	To     time.Time
	// Sites, when non-nil, restricts results to these sites (scoping).
	Sites []string
	// Limit caps the number returned (backends cap it at 1000; 0 means 100).
	Limit int
	// Cursor continues a previous listing (opaque, from EventPage.Next).
	Cursor string
}

// EventPage is one page of events, newest first.
type EventPage struct {
	Events []Event
	Next   string // empty when there are no more
}

// Sites stores sites.
type Sites interface {
	// CreateSite sets CreatedAt and UpdatedAt; ErrConflict if the id exists.
	CreateSite(ctx context.Context, s Site) (Site, error)
	GetSite(ctx context.Context, id string) (Site, error) // ErrNotFound
	ListSites(ctx context.Context) ([]Site, error)        // ordered by id
	// UpdateSite overwrites Name and Region and sets UpdatedAt; ErrNotFound.
	UpdateSite(ctx context.Context, s Site) (Site, error)
	DeleteSite(ctx context.Context, id string) error // ErrNotFound; ErrConflict while cameras use it
}

// Cameras stores cameras.
type Cameras interface {
	// CreateCamera sets CreatedAt and UpdatedAt and stores an empty
	// Analytics as "{}". ErrConflict if the id exists; ErrNotFound (naming
	// the site) for an unknown Site.
	CreateCamera(ctx context.Context, c Camera) (Camera, error)
	GetCamera(ctx context.Context, id string) (Camera, error) // ErrNotFound
	ListCameras(ctx context.Context) ([]Camera, error)        // ordered by id
	// UpdateCamera overwrites every field but CreatedAt and sets
	// UpdatedAt; ErrNotFound for an unknown camera or site.
	UpdateCamera(ctx context.Context, c Camera) (Camera, error)
	// DeleteCamera removes the camera row (ErrNotFound); its segments stay
	// until retention removes them.
	DeleteCamera(ctx context.Context, id string) error
}

// Segments stores recorded segments and gaps.
type Segments interface {
	// AddSegment inserts a new segment (usually SegmentOpen; a zero State
	// means SegmentOpen) and returns its id. ErrConflict when another row
	// has the same Path: two rows must never own one blob. A segment with
	// an Origin must have a FirstSeq >= 1 (ErrInvalid).
	AddSegment(ctx context.Context, s Segment) (int64, error)
	// AddSegments inserts segs, with the same rules as AddSegment, in one
	// transaction, durable when it returns, and returns their ids in
	// order. On any error (ErrInvalid, or ErrConflict naming the path)
	// nothing is inserted. Recorders batch the segments they opened since
	// the last group commit into one call.
	AddSegments(ctx context.Context, segs []Segment) ([]int64, error)
	// CommitSegments applies updates atomically (one transaction), durable
	// when it returns. Every update must name an existing SegmentOpen row:
	// otherwise it returns ErrNotFound (unknown id) or ErrConflict (row no
	// longer open) and applies nothing.
	CommitSegments(ctx context.Context, ups []SegmentUpdate) error
	// GetSegment returns one segment, in any state, with its fragments
	// (ErrNotFound).
	GetSegment(ctx context.Context, id int64) (Segment, error)
	// Segments returns the camera's non-deleting segments overlapping
	// [from, to), ordered by Start, with fragments.
	Segments(ctx context.Context, camera string, from, to time.Time) ([]Segment, error)
	// OpenSegments returns every segment still SegmentOpen, with
	// fragments (for recovery).
	OpenSegments(ctx context.Context) ([]Segment, error)
	// ReplaceSegment overwrites a segment's End, Bytes, State and
	// Fragments, in any state (used by crash recovery); ErrNotFound. It
	// keeps the stored Origin and FirstSeq.
	ReplaceSegment(ctx context.Context, s Segment) error
	// LastImported returns the highest fragment sequence number stored for
	// camera from the spool origin (FirstSeq + len(Fragments) - 1 over the
	// camera's segments with that Origin, in any state) and the End of the
	// segment holding it; 0 and the zero time when there is none. It is an
	// index lookup (it runs per upload). An empty origin is ErrInvalid.
	LastImported(ctx context.Context, camera, origin string) (seq uint64, end time.Time, err error)
	// SegmentsBefore returns up to limit segments of every camera (any
	// state) with Start before t, oldest first (by Start, then id),
	// without fragments. A limit <= 0 means no limit.
	SegmentsBefore(ctx context.Context, t time.Time, limit int) ([]Segment, error)
	// CameraSegmentsBefore is SegmentsBefore for one camera.
	CameraSegmentsBefore(ctx context.Context, camera string, t time.Time, limit int) ([]Segment, error)
	// AllSegmentPaths returns the path of every segment row (reconciliation).
	AllSegmentPaths(ctx context.Context) (map[string]int64, error)
	// MarkDeleting sets SegmentDeleting on the given ids; unknown ids are
	// ignored.
	MarkDeleting(ctx context.Context, ids []int64) error
	// DeleteSegments removes the rows; unknown ids are ignored.
	DeleteSegments(ctx context.Context, ids []int64) error
	// TotalBytes returns the sum of Bytes over all segments (any state).
	TotalBytes(ctx context.Context) (int64, error)

	// AddGap records an explicit gap.
	AddGap(ctx context.Context, g Gap) (int64, error)
	// SetPendingGap replaces the camera's one GapPending gap (footage held
	// at a site, not uploaded yet; reason "held_at_site") with [start, end);
	// start >= end removes it. Gaps returns it like any other gap.
	SetPendingGap(ctx context.Context, camera string, start, end time.Time) error
	// Gaps returns the camera's explicit gaps overlapping [from, to),
	// ordered by Start.
	Gaps(ctx context.Context, camera string, from, to time.Time) ([]Gap, error)
	// DeleteGapsBefore removes the camera's gaps that end before t
	// (retention); an empty camera means every camera.
	DeleteGapsBefore(ctx context.Context, camera string, t time.Time) error
}

// Events stores events.
type Events interface {
	// AddEvent stores an event and returns its id. An empty Site is
	// filled in from the camera's site when the camera exists; empty Data
	// is stored as "{}"; an empty Type is ErrInvalid.
	AddEvent(ctx context.Context, e Event) (int64, error)
	// EndEvent sets the end time of an ongoing event (ErrNotFound).
	EndEvent(ctx context.Context, id int64, end time.Time) error
	// WriteEvents ends events and adds events, as EndEvent and AddEvent
	// would, in one transaction, durable when it returns, and returns the
	// added events' ids in order. Ends naming no event are ignored (the
	// event may have expired). On any error nothing is written. Producers
	// of bursts (every camera of a site going offline at once) batch into
	// one call.
	WriteEvents(ctx context.Context, ends []EventEnd, adds []Event) ([]int64, error)
	// ListEvents returns a page newest first, by Start and then id.
	// From and To select Start in [From, To). A malformed Cursor is
	// ErrInvalid. Paging is stable while new events arrive.
	ListEvents(ctx context.Context, f EventFilter) (EventPage, error)
	// DeleteEventsBefore removes events that started before t.
	DeleteEventsBefore(ctx context.Context, t time.Time) error
}

// Index is everything a backend provides.
type Index interface {
	Sites
	Cameras
	Segments
	Events
	// Close releases the backend.
	Close() error
}
