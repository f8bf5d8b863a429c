package record

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/vigil-video/vigil/internal/blob"
	"github.com/vigil-video/vigil/internal/media"
)

// discardStore is a Store whose files discard their bytes, so that the
// benchmark measures the recorder and the writer, not the disk.
type discardStore struct{}

type discardWriter struct{}

func (discardStore) Create(context.Context, string) (blob.Writer, error) { return discardWriter{}, nil }
func (discardWriter) Write(p []byte) (int, error)                        { return len(p), nil }
func (discardWriter) Sync() error                                        { return nil }
func (discardWriter) Close() error                                       { return nil }

// BenchmarkRecorderWrite measures the inline cost of recording one video
// frame (20 kB, 25 fps, GOP 25) plus two AAC frames, through the real
// Writer (lanes, group commit) into a store that discards.
func BenchmarkRecorderWrite(b *testing.B) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := NewWriter(Config{SyncInterval: 10 * time.Millisecond, MaxQueuedBytes: 1 << 30, MaxTotalQueuedBytes: 1 << 30}, newMemIndex(), discardStore{}, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	rec := w.NewRecorder("cam1", log)
	rec.Begin(tracks())
	nal := make([]byte, 20000)
	aac := make([]byte, 300)
	b.ReportAllocs()
	b.SetBytes(int64(len(nal) + 2*len(aac)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dts := int64(i) * 3600
		wall := t0.Add(time.Duration(i) * 40 * time.Millisecond)
		rec.Write(&media.AccessUnit{Track: 0, DTS: dts, PTS: dts, Wall: wall, Key: i%25 == 0, NALUs: [][]byte{nal}})
		for k := 0; k < 2; k++ {
			a := int64(i*2+k) * 960
			rec.Write(&media.AccessUnit{Track: 1, DTS: a, PTS: a, Wall: wall.Add(time.Duration(k) * 20 * time.Millisecond), Key: true, Payload: aac})
		}
	}
	rec.End()
	b.StopTimer()
	if d := rec.Stats().DroppedFrames.Load(); d != 0 {
		b.Fatalf("%d frames dropped", d)
	}
}
