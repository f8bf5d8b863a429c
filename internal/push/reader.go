package push

import (
	"net/url"
	"strings"

	"github.com/vigil-video/vigil/internal/media"
	"github.com/vigil-video/vigil/internal/repacket"
	"github.com/vigil-video/vigil/internal/stream"
)

// reader is the push's stream reader: a bounded Queue whose drops are
// added to Stats as they happen. Its methods run on the publisher's
// goroutine, serialised by the stream, and never block.
type reader struct {
	q     *stream.Queue
	stats *Stats
}

var _ stream.Reader = (*reader)(nil)

// Begin implements stream.Reader.
func (r *reader) Begin(tracks []media.Track) { r.count(func() { r.q.Begin(tracks) }) }

// Write implements stream.Reader.
func (r *reader) Write(au *media.AccessUnit) { r.count(func() { r.q.Write(au) }) }

// End implements stream.Reader.
func (r *reader) End() { r.count(func() { r.q.End() }) }

// Dropped returns the units the queue dropped (the stream's stats sum it).
func (r *reader) Dropped() uint64 { return r.q.Dropped() }

// count runs fn and adds the units the queue dropped meanwhile.
func (r *reader) count(fn func()) {
	before := r.q.Dropped()
	fn()
	if d := r.q.Dropped() - before; d > 0 {
		r.stats.Dropped.Add(int64(d)) //nolint:gosec // a handful of units
	}
}

func sameTracks(a, b []media.Track) bool { return repacket.SameTracks(a, b) }

// redactedError hides the push's credentials from an error's text.
type redactedError struct {
	err     error
	secrets []string
}

// Error implements error, without the secrets.
func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// Unwrap returns the original error (whose text may hold secrets).
func (e *redactedError) Unwrap() error { return e.err }

// minSecretLen is the shortest password hunted for on its own in error
// texts; shorter ones would mangle unrelated text and reveal little.
const minSecretLen = 4

// redact wraps err so that its text never shows the credentials.
func (p *pusher) redact(err error) error {
	var secrets []string
	if ui := p.u.User; ui != nil {
		secrets = append(secrets, ui.String())
		if pass, ok := ui.Password(); ok && len(pass) >= minSecretLen {
			secrets = append(secrets, pass, url.QueryEscape(pass), url.PathEscape(pass))
		}
	}
	if len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}
