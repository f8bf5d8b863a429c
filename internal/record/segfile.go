package record

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/index"
)

// segFile is one segment being written. The recorder creates it; the
// worker running its camera's lane writes it; the syncer commits it.
type segFile struct {
	camera string
	key    string
	start  time.Time
	codecs string
	failed atomic.Bool // set by the worker; read inline by the recorder

	// Imported segments (Importer) only.
	origin   string
	firstSeq uint64
	imp      *Importer

	mu       sync.Mutex
	w        blob.Writer
	id       int64 // index row; 0 until the first commit after open
	initSize int64
	written  int64            // bytes written to the file
	pending  []index.Fragment // written, not yet committed
	end      time.Time        // end of the last written fragment
	closing  bool             // all fragments queued; close after commit
	refused  bool             // the index refused its row (Writer.addNew)
	err      error
	dropped  int64 // bytes already dropped from the page cache
}

// cacheDropper is implemented by blob writers that can release the page
// cache of durable bytes (blob/fs: fadvise DONTNEED).
type cacheDropper interface {
	DropCache(off, n int64) error
}

type segSnapshot struct {
	id         int64
	initSize   int64
	key        string
	w          blob.Writer
	written    int64
	end        time.Time
	frags      []index.Fragment
	closing    bool
	syncFailed bool
	refused    bool
}

func (s *segFile) snapshot() segSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sn := segSnapshot{id: s.id, initSize: s.initSize, key: s.key, w: s.w, written: s.written, end: s.end, closing: s.closing, refused: s.refused}
	// After a torn write, written still ends at the last complete
	// fragment: the index never covers the garbage, and start-up recovery
	// cuts it off the file (its size differs from the index).
	sn.frags = append([]index.Fragment(nil), s.pending...)
	return sn
}

// row is the segment's index row holding what is durable.
func (s *segFile) row(initSize int64, end time.Time, written int64, frags []index.Fragment, closing bool) index.Segment {
	state := index.SegmentOpen
	if closing {
		state = index.SegmentClosed
	}
	return index.Segment{
		Camera: s.camera, Start: s.start, End: end, Bytes: written, Path: s.key, State: state,
		InitSize: initSize, Codecs: s.codecs, Origin: s.origin, FirstSeq: s.firstSeq, Fragments: frags,
	}
}

// afterCommit drops the committed fragments from pending and closes the
// file once its last fragment is durable and committed.
func (s *segFile) afterCommit(sn segSnapshot, ok bool, w *Writer) {
	s.mu.Lock()
	if s.refused {
		// Never indexed, so nothing to commit. The file is closed once
		// the recorder ended the segment (no write is in flight then).
		var bw blob.Writer
		if s.closing {
			bw, s.w = s.w, nil
		}
		s.mu.Unlock()
		if bw != nil {
			bw.Close()
		}
		return
	}
	if !ok {
		s.mu.Unlock()
		w.markDirty(s)
		return
	}
	s.pending = s.pending[len(sn.frags):]
	if s.imp != nil && len(sn.frags) > 0 {
		s.imp.onCommit(s, len(sn.frags), sn.end)
	}
	if cd, ok := s.w.(cacheDropper); ok && sn.written > s.dropped {
		cd.DropCache(s.dropped, sn.written-s.dropped)
		s.dropped = sn.written
	}
	closeNow := sn.closing && s.w != nil
	more := len(s.pending) > 0
	bw := s.w
	if closeNow {
		s.w = nil
	}
	s.mu.Unlock()
	if closeNow {
		if err := bw.Close(); err != nil {
			w.log.Warn("close segment file", "segment", s.key, "err", err)
		}
		return
	}
	if more {
		w.markDirty(s)
	}
}

// failBehind fails an imported segment queued behind one that failed
// (cause), unless it failed already: the writer neither creates it nor
// writes its fragments.
func (s *segFile) failBehind(cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = fmt.Errorf("import: an earlier segment failed: %w", cause)
		s.failed.Store(true)
	}
}
