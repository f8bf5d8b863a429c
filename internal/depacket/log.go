package depacket

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logLimiter logs at most one line per kind and interval, counting the
// lines it held back.
type logLimiter struct {
	log   *slog.Logger
	every time.Duration

	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newLogLimiter(log *slog.Logger, every time.Duration) *logLimiter {
	return &logLimiter{log: log, every: every, last: map[string]time.Time{}, held: map[string]int{}}
}

func (l *logLimiter) warn(kind, msg string, args ...any) { l.emit(slog.LevelWarn, kind, msg, args) }

func (l *logLimiter) info(kind, msg string, args ...any) { l.emit(slog.LevelInfo, kind, msg, args) }

func (l *logLimiter) emit(level slog.Level, kind, msg string, args []any) {
	now := time.Now()
	l.mu.Lock()
	if last, ok := l.last[kind]; ok && now.Sub(last) < l.every {
		l.held[kind]++
		l.mu.Unlock()
		return
	}
	held := l.held[kind]
	l.last[kind], l.held[kind] = now, 0
	l.mu.Unlock()
	if held > 0 {
		args = append(args, "repeated", held)
	}
	l.log.Log(context.Background(), level, msg, args...)
}
