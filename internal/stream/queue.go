package stream

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/vigil-video/vigil/internal/media"
)

// ItemKind tells what a queued Item carries.
type ItemKind int

// Item kinds, mirroring the Reader methods.
const (
	ItemBegin ItemKind = iota + 1
	ItemUnit
	ItemEnd
)

// Item is one event taken from a Queue.
type Item struct {
	Kind   ItemKind
	Tracks []media.Track     // ItemBegin
	Unit   *media.AccessUnit // ItemUnit
}

// QueueOptions bound a Queue. Zero values take the defaults.
type QueueOptions struct {
	// MaxUnits is the ring's capacity in units. It defaults to 1024.
	MaxUnits int
	// MaxBytes bounds the payload bytes held. It defaults to 16 MiB.
	MaxBytes int
}

// Queue is a Reader for consumers that do slow work on their own goroutine.
// When full it drops units (never Begin/End), counts them, and then skips
// video until the next keyframe so the consumer never sees a broken GOP.
type Queue struct {
	opts    QueueOptions
	mu      sync.Mutex
	items   []Item // ring
	head, n int
	units   int // ItemUnit entries in the ring
	bytes   int
	waitKey bool
	tracks  []media.Track
	notify  chan struct{}
	dropped atomic.Uint64
}

// NewQueue returns an empty queue.
func NewQueue(opts QueueOptions) *Queue {
	if opts.MaxUnits <= 0 {
		opts.MaxUnits = 1024
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 16 << 20
	}
	return &Queue{
		opts:   opts,
		items:  make([]Item, opts.MaxUnits+8),
		notify: make(chan struct{}, 1),
	}
}

// Dropped returns how many units this queue has dropped.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Begin implements Reader.
func (q *Queue) Begin(tracks []media.Track) {
	q.mu.Lock()
	q.tracks = tracks
	q.waitKey = false
	q.pushControl(Item{Kind: ItemBegin, Tracks: tracks})
	q.mu.Unlock()
	q.wake()
}

// End implements Reader.
func (q *Queue) End() {
	q.mu.Lock()
	q.pushControl(Item{Kind: ItemEnd})
	q.mu.Unlock()
	q.wake()
}

// Write implements Reader.
func (q *Queue) Write(au *media.AccessUnit) {
	q.mu.Lock()
	video := au.Track < len(q.tracks) && q.tracks[au.Track].IsVideo()
	switch {
	case q.waitKey && video && !au.Key:
		q.dropped.Add(1)
	case q.waitKey && !video:
		q.dropped.Add(1)
	case q.units >= q.opts.MaxUnits || q.bytes+au.Size() > q.opts.MaxBytes:
		q.dropped.Add(1)
		q.waitKey = true
	default:
		q.waitKey = false
		q.push(Item{Kind: ItemUnit, Unit: au})
		q.bytes += au.Size()
		q.units++
	}
	q.mu.Unlock()
	q.wake()
}

// pushControl queues a Begin/End even when the ring is full of units, by
// dropping the newest units to make room.
func (q *Queue) pushControl(it Item) {
	for q.n >= len(q.items) {
		last := (q.head + q.n - 1) % len(q.items)
		if q.items[last].Kind == ItemUnit {
			q.bytes -= q.items[last].Unit.Size()
			q.units--
			q.dropped.Add(1)
		}
		q.items[last] = Item{}
		q.n--
	}
	q.push(it)
}

func (q *Queue) push(it Item) {
	q.items[(q.head+q.n)%len(q.items)] = it
	q.n++
}

func (q *Queue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Next blocks until an item is available or ctx ends.
func (q *Queue) Next(ctx context.Context) (Item, error) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			it := q.items[q.head]
			q.items[q.head] = Item{}
			q.head = (q.head + 1) % len(q.items)
			q.n--
			if it.Kind == ItemUnit {
				q.bytes -= it.Unit.Size()
				q.units--
			}
			q.mu.Unlock()
			return it, nil
		}
		q.mu.Unlock()
		select {
		case <-q.notify:
		case <-ctx.Done():
			return Item{}, ctx.Err()
		}
	}
}
