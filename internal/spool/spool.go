// Package spool is the gateway's store-and-forward buffer: a local ring of
// recorded fMP4 fragments per camera, bounded by a disk quota, from which a
// fragment is freed only once the hub has acknowledged storing it.
//
// Layout (docs/format/spool.md): one directory per camera (c-<hex of the
// camera id>) holding append-only segment files named by their first seq and
// a small state file (acknowledged seq, drop counts and lost ranges,
// replaced atomically). There is no separate index: the segment files are an
// append-only log of checksummed records (init blocks and fragments), and
// Open rebuilds the in-memory index by scanning them, so the index can never
// disagree with the bytes. A record's header has its own CRC32C, so a torn or
// damaged header ends the scan of that file (the tail is truncated) while a
// damaged body is kept as a corrupt entry that Read refuses, naming it.
//
// Durability is group-committed: Append writes the record and returns its
// seq; a syncer fsyncs every written file once per SyncInterval (and Sync
// does it now). Pending lists only synced entries, so the hub never sees a
// seq that a crash could later reassign to other bytes.
package spool

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a Spool.
type Options struct {
	// Quota is the most bytes the spool's files may hold, all cameras
	// together. Required.
	Quota int64
	// SyncInterval is the group-commit window. It defaults to 250 ms.
	SyncInterval time.Duration
	// SegmentBytes is the size at which a camera's data file is rolled (a
	// file is also rolled at each new hour). It defaults to Quota/16,
	// clamped to [1 MiB, 64 MiB]. Quota drops remove whole files, so this
	// bounds how much is dropped at once.
	SegmentBytes int64
	// OnDurable, when set, is called after a sync made a camera's
	// fragments durable, with the highest such seq: Pending lists them
	// from then on. It runs on the syncing goroutine and must not block.
	OnDurable func(camera string, seq uint64)
	// CacheBytes bounds, per camera, the bytes of the most recently
	// appended fragments that are also kept in memory until acknowledged,
	// so that Read returns a caught-up camera's fragments without reading
	// the disk (older ones are evicted first). It defaults to 8 MiB;
	// negative keeps none.
	CacheBytes int64
	// CacheTotal bounds those bytes for all cameras together, evicting
	// the oldest fragments of any camera first. It defaults to 256 MiB.
	CacheTotal int64
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Fragment is one recorded fragment handed to Append.
type Fragment struct {
	Start    time.Time
	Duration time.Duration
	Key      bool   // the fragment starts with a keyframe
	Init     []byte // ftyp+moov the fragment needs; stored once per camera and layout
	// Data is the moof+mdat as produced by internal/segment. Append keeps
	// it (Read returns it while it is cached): the caller must not modify
	// it afterwards.
	Data []byte
}

// Entry describes one spooled fragment.
type Entry struct {
	Camera   string
	Seq      uint64
	Start    time.Time
	Duration time.Duration
	Key      bool
	InitID   uint32
	Size     int  // bytes of Data
	Corrupt  bool // the stored bytes fail their checksum; Read refuses it
}

// Range is a run of fragments of one camera lost to the quota.
type Range struct {
	Camera   string    `json:"camera"`
	FirstSeq uint64    `json:"first_seq"`
	LastSeq  uint64    `json:"last_seq"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// Stats is a snapshot of the spool.
type Stats struct {
	Bytes         int64             // bytes of all files
	Fragments     int               // unacknowledged fragments held
	OldestPending time.Time         // start of the oldest unacknowledged fragment held (zero if none)
	Dropped       map[string]uint64 // fragments dropped for quota, per camera
	DroppedTotal  uint64
	DroppedRanges []Range // time ranges lost, to report to the hub as gaps
	Cached        int64   // bytes of fragments also held in memory for Read
}

// Errors callers branch on.
var (
	ErrClosed   = errors.New("spool closed")
	ErrNotFound = errors.New("no such spooled fragment")
	ErrCorrupt  = errors.New("spooled fragment corrupt")
)

// Spool is the store-and-forward buffer. Its methods are safe for
// concurrent use.
type Spool struct {
	dir    string
	opts   Options
	log    *slog.Logger
	lock   *os.File
	origin string

	syncMu sync.Mutex // serializes sync rounds

	mu        sync.Mutex
	cams      map[string]*camState
	bytes     int64
	toClose   []*os.File // rolled files, closed by the next sync round
	dirtyDirs map[string]bool
	buf       []byte
	closed    bool
	cached    int64 // bytes in the cameras' caches

	stop chan struct{}
	done chan struct{}
}

// camState is one camera's part of the spool, guarded by Spool.mu.
type camState struct {
	name    string
	dir     string
	files   []*segFile // ordered by seq
	active  *segFile
	nextSeq uint64
	durable uint64 // highest seq known synced
	acked   uint64
	// lastGone is the highest seq acked or dropped; seqs never go back
	// below it across restarts.
	lastGone uint64
	dropped  uint64
	ranges   []Range
	inits    map[uint32][]byte
	badInits map[uint32]bool
	curInit  uint32
	// cache holds recently appended fragments' bytes, in seq order
	// (cache.go).
	cache       []cachedFrag
	cachedBytes int64
}

// segFile is one data file.
type segFile struct {
	path    string
	f       *os.File // open for appending while active, else nil
	size    int64
	entries []entryLoc
	inits   map[uint32]bool // init ids written in this file
	hour    int64
	dirty   bool
}

type entryLoc struct {
	Entry
	off int64 // of the record header
}

// Open opens (creating) the spool in dir and recovers it: torn tails are
// truncated, corrupt entries kept and reported, seqs continue after the
// highest ever used. Close stops its syncer.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.Quota <= 0 {
		return nil, errors.New("open spool: quota required")
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = 250 * time.Millisecond
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = min(max(opts.Quota/16, 1<<20), 64<<20)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 8 << 20
	}
	if opts.CacheTotal <= 0 {
		opts.CacheTotal = 256 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	s := &Spool{
		dir: dir, opts: opts, log: opts.Logger.With("component", "spool"), lock: lock,
		cams: map[string]*camState{}, dirtyDirs: map[string]bool{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if s.origin, err = loadOrigin(dir); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("open spool %s: %w", dir, err)
	}
	if err := s.recover(); err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("recover spool %s: %w", dir, err)
	}
	go s.syncLoop()
	return s, nil
}

// Origin is the spool's identity: a random id made when the spool was
// created. Seqs are unique within an origin, so the hub keys what it
// stored by (camera, origin, seq): a gateway whose spool was wiped starts
// a new origin instead of reusing seqs the hub already holds.
func (s *Spool) Origin() string { return s.origin }

// originFile holds the spool's origin id.
const originFile = "ORIGIN"

// loadOrigin reads dir's origin id, creating it (durably) on first use.
func loadOrigin(dir string) (string, error) {
	path := filepath.Join(dir, originFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			return "", fmt.Errorf("origin file %s is damaged (%d bytes)", path, len(b))
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read origin: %w", err)
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("make origin: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	tmp := path + ".tmp"
	if err := writeSynced(tmp, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("write origin: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write origin: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("write origin: %w", err)
	}
	return id, nil
}

// Close syncs what was appended and stops the spool.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	err := s.sync()
	s.mu.Lock()
	for _, c := range s.cams {
		if c.active != nil {
			s.toClose = append(s.toClose, c.active.f)
			c.active.f, c.active = nil, nil
		}
		s.uncache(c, c.nextSeq)
	}
	for _, f := range s.toClose {
		_ = f.Close()
	}
	s.toClose = nil
	s.mu.Unlock()
	return errors.Join(err, s.lock.Close())
}

func (s *Spool) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.sync(); err != nil {
				s.log.Error("spool sync", "err", err)
			}
		}
	}
}

// Sync makes every fragment appended so far durable now.
func (s *Spool) Sync() error { return s.sync() }

func (s *Spool) sync() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	var files []*os.File
	for _, c := range s.cams {
		for _, sf := range c.files {
			if sf.dirty && sf.f != nil {
				files = append(files, sf.f)
			}
			sf.dirty = false
		}
	}
	closing := s.toClose
	s.toClose = nil
	dirs := s.dirtyDirs
	s.dirtyDirs = map[string]bool{}
	written := make(map[*camState]uint64, len(s.cams))
	for _, c := range s.cams {
		written[c] = c.nextSeq - 1
	}
	s.mu.Unlock()

	errs := s.syncFiles(append(files, closing...), dirs)
	for _, f := range closing {
		_ = f.Close()
	}
	if err := errors.Join(errs...); err != nil {
		s.mu.Lock()
		for d := range dirs {
			s.dirtyDirs[d] = true
		}
		s.mu.Unlock()
		return err
	}
	type advanced struct {
		camera string
		seq    uint64
	}
	var adv []advanced
	s.mu.Lock()
	for c, w := range written {
		if w > c.durable {
			c.durable = w
			adv = append(adv, advanced{c.name, w})
		}
	}
	s.mu.Unlock()
	if s.opts.OnDurable != nil {
		for _, a := range adv {
			s.opts.OnDurable(a.camera, a.seq)
		}
	}
	return nil
}

// syncFilesThreshold is the number of files from which one syncfs(2) of
// the spool's filesystem is cheaper than an fsync per file.
const syncFilesThreshold = 8

// syncFiles makes files and directories durable: an fsync each, or one
// syncfs when there are many (many cameras).
func (s *Spool) syncFiles(files []*os.File, dirs map[string]bool) []error {
	if len(files)+len(dirs) >= syncFilesThreshold {
		if err := unix.Syncfs(int(s.lock.Fd())); err != nil {
			return []error{fmt.Errorf("syncfs %s: %w", s.dir, err)}
		}
		return nil
	}
	var errs []error
	for _, f := range files {
		if err := f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", f.Name(), err))
		}
	}
	for d := range dirs {
		errs = append(errs, syncDir(d))
	}
	return errs
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// camera returns (creating) a camera's state; s.mu held.
func (s *Spool) camera(name string) (*camState, error) {
	if c, ok := s.cams[name]; ok {
		return c, nil
	}
	if name == "" {
		return nil, errors.New("empty camera id")
	}
	c := newCam(name, filepath.Join(s.dir, "c-"+hex.EncodeToString([]byte(name))))
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return nil, fmt.Errorf("create camera dir: %w", err)
	}
	s.dirtyDirs[s.dir] = true
	s.cams[name] = c
	return c, nil
}

func newCam(name, dir string) *camState {
	return &camState{name: name, dir: dir, nextSeq: 1, inits: map[uint32][]byte{}, badInits: map[uint32]bool{}}
}

// Append spools one fragment of a camera and returns its seq. The fragment
// is durable after the next group sync (or Sync). Its Data is also kept
// in memory for Read while the camera's cache has room (see
// Options.CacheBytes): the caller must not modify it afterwards. When the quota would be
// exceeded the oldest fragments (of any camera) are dropped, counted and
// recorded as lost ranges; Append never fails for quota.
func (s *Spool) Append(camera string, f Fragment) (uint64, error) {
	if len(f.Init) == 0 || len(f.Data) == 0 {
		return 0, fmt.Errorf("append %s: fragment without init or data", camera)
	}
	if len(f.Init) > maxBody || len(f.Data) > maxBody {
		return 0, fmt.Errorf("append %s: fragment over %d bytes", camera, maxBody)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	c, err := s.camera(camera)
	if err != nil {
		return 0, fmt.Errorf("append %s: %w", camera, err)
	}
	seq := c.nextSeq
	c.nextSeq++
	initID := c.initFor(f.Init)
	hour := f.Start.Unix() / 3600
	if a := c.active; a != nil && (a.hour != hour || a.size+int64(headerSize+len(f.Data)) > s.opts.SegmentBytes) {
		s.roll(c)
	}
	need := int64(headerSize + len(f.Data))
	if c.active == nil || !c.active.inits[initID] {
		need += int64(headerSize + len(f.Init))
	}
	if c.active == nil {
		need += int64(len(fileMagic))
	}
	e := Entry{Camera: camera, Seq: seq, Start: f.Start, Duration: f.Duration, Key: f.Key, InitID: initID, Size: len(f.Data)}
	if !s.makeRoom(need) {
		s.dropOne(c, e)
		return seq, nil
	}
	if err := s.write(c, e, hour, f); err != nil {
		return 0, fmt.Errorf("append %s seq %d: %w", camera, seq, err)
	}
	s.cachePut(c, seq, f.Start, f.Data)
	return seq, nil
}

// initFor returns the id of an init block, registering a new layout.
func (c *camState) initFor(init []byte) uint32 {
	if cur, ok := c.inits[c.curInit]; ok && bytes.Equal(cur, init) {
		return c.curInit
	}
	c.curInit++
	c.inits[c.curInit] = bytes.Clone(init)
	return c.curInit
}

// write appends e's record (and its init, once per file) to the active file.
func (s *Spool) write(c *camState, e Entry, hour int64, f Fragment) error {
	if c.active == nil {
		if err := s.create(c, e.Seq, hour); err != nil {
			return err
		}
	}
	a := c.active
	buf := s.buf[:0]
	if !a.inits[e.InitID] {
		buf = appendRecord(buf, header{Type: recInit, Seq: uint64(e.InitID)}, c.inits[e.InitID])
	}
	off := a.size + int64(len(buf))
	var flags uint8
	if e.Key {
		flags = flagKey
	}
	buf = appendRecord(buf, header{Type: recFragment, Flags: flags, Seq: e.Seq, Start: e.Start.UnixNano(),
		Duration: int64(e.Duration), InitID: e.InitID}, f.Data)
	s.buf = buf
	if cap(s.buf) > 16<<20 {
		s.buf = nil
	}
	if _, err := a.f.WriteAt(buf, a.size); err != nil {
		// The file's tail is now unknown: stop appending to it. Recovery
		// truncates whatever part of this record reached the disk.
		s.roll(c)
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	a.inits[e.InitID] = true
	a.size += int64(len(buf))
	s.bytes += int64(len(buf))
	a.dirty = true
	a.entries = append(a.entries, entryLoc{Entry: e, off: off})
	return nil
}

// create starts a camera's new active file.
func (s *Spool) create(c *camState, firstSeq uint64, hour int64) error {
	path := filepath.Join(c.dir, fmt.Sprintf("%020d.seg", firstSeq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("create data file: %w", err)
	}
	if _, err := f.Write([]byte(fileMagic)); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("create data file: %w", err)
	}
	sf := &segFile{path: path, f: f, size: int64(len(fileMagic)), inits: map[uint32]bool{}, hour: hour, dirty: true}
	c.files = append(c.files, sf)
	c.active = sf
	s.bytes += sf.size
	s.dirtyDirs[c.dir] = true
	return nil
}

// roll ends the camera's active file; the next sync round closes it.
func (s *Spool) roll(c *camState) {
	if c.active == nil {
		return
	}
	s.toClose = append(s.toClose, c.active.f)
	c.active.f = nil
	c.active = nil
}

// sortEntries keeps a file's entries in seq order (recovery helper).
func sortEntries(es []entryLoc) {
	sort.Slice(es, func(i, j int) bool { return es[i].Seq < es[j].Seq })
}
