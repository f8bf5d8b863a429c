package supervise

import (
	"log/slog"
	"time"
)

// logLimiter logs a worker's failures, folding repeats of the same error
// message into one line per interval.
type logLimiter struct {
	log        *slog.Logger
	every      time.Duration
	lastMsg    string
	lastLogged time.Time
	suppressed int
}

func newLogLimiter(log *slog.Logger, every time.Duration) *logLimiter {
	return &logLimiter{log: log, every: every}
}

// failure logs err unless the same message was logged less than `every`
// ago, in which case it is only counted.
func (l *logLimiter) failure(now time.Time, err error, failures int, wait time.Duration) {
	msg := "<nil>"
	if err != nil {
		msg = err.Error()
	}
	if msg == l.lastMsg && now.Sub(l.lastLogged) < l.every {
		l.suppressed++
		return
	}
	attrs := []any{"error", msg, "failures", failures, "retry_in", wait.Round(time.Millisecond)}
	switch {
	case l.suppressed > 0 && msg == l.lastMsg:
		attrs = append(attrs, "repeated", l.suppressed)
	case l.suppressed > 0:
		attrs = append(attrs, "previous_error", l.lastMsg, "previous_repeated", l.suppressed)
	}
	if err == nil {
		l.log.Info("worker ended, restarting", attrs...)
	} else {
		l.log.Warn("worker failed, restarting", attrs...)
	}
	l.lastMsg, l.lastLogged, l.suppressed = msg, now, 0
}

func (l *logLimiter) permanent(err error) {
	l.log.Error("worker failed permanently, not restarting", "error", err.Error())
}
