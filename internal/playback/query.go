package playback

import (
	"fmt"
	"net/url"
	"time"
)

// rangeError is a bad query: its message is shown to the client (400).
type rangeError struct{ msg string }

func (e *rangeError) Error() string { return e.msg }

func badQuery(format string, args ...any) error {
	return &rangeError{msg: fmt.Sprintf(format, args...)}
}

// parseTime parses an RFC 3339 time (fractional seconds allowed), with the
// same rules as the rest of the API: a year before 1970 is refused.
func parseTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, badQuery("%s is required (an RFC 3339 time such as 2025-01-02T15:04:05Z)", name)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil || t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, badQuery("%s: want an RFC 3339 time such as 2025-01-02T15:04:05Z", name)
	}
	return t.UTC(), nil
}

// parseRange reads the required from and to query parameters: from must
// be before to and the range at most MaxRange long.
func parseRange(q url.Values) (from, to time.Time, err error) {
	if from, err = parseTime("from", q.Get("from")); err != nil {
		return from, to, err
	}
	if to, err = parseTime("to", q.Get("to")); err != nil {
		return from, to, err
	}
	if !from.Before(to) {
		return from, to, badQuery("from must be before to")
	}
	if to.Sub(from) > MaxRange {
		return from, to, badQuery("range longer than 24h: ask for at most 24 hours at a time")
	}
	return from, to, nil
}

// fmtTime formats a time as RFC 3339 in UTC with milliseconds.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
