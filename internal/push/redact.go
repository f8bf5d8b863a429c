package push

import (
	"net/url"
	"strings"
)

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
