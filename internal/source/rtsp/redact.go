package rtsp

import (
	"net/url"
	"strings"
)

// RedactURL returns rawURL without its userinfo. Strings that do not
// parse as URLs are cut at the last '@' of their authority, so a password
// never survives.
func RedactURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		u.User = nil
		return u.String()
	}
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return rawURL
	}
	authority, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = authority[at+1:]
	}
	if path != "" || strings.Contains(rest, "/") {
		return scheme + "://" + authority + "/" + path
	}
	return scheme + "://" + authority
}

// secrets returns the strings of rawURL that must not be shown: the
// password (raw and unescaped) and the whole userinfo.
func secrets(rawURL string) []string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	authority, _, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return nil
	}
	userinfo := authority[:at]
	out := []string{userinfo + "@"}
	if _, pass, ok := strings.Cut(userinfo, ":"); ok && pass != "" {
		out = append(out, pass)
		if un, err := url.PathUnescape(pass); err == nil && un != pass {
			out = append(out, un)
		}
		if un, err := url.QueryUnescape(pass); err == nil && un != pass {
			out = append(out, un)
		}
	}
	return out
}

// minSecretLen is the shortest password hunted for on its own in error
// texts; shorter ones would mangle unrelated text and reveal little.
const minSecretLen = 4

// redactedError hides a URL's secrets from an error's text.
type redactedError struct {
	err     error
	secrets []string
}

// Error implements error, without the secrets.
func (e *redactedError) Error() string {
	msg := e.err.Error()
	for i, s := range e.secrets {
		switch {
		case i == 0: // the userinfo with its '@'
			msg = strings.ReplaceAll(msg, s, "")
		case len(s) >= minSecretLen:
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

// Unwrap returns the original error (whose text may hold secrets).
func (e *redactedError) Unwrap() error { return e.err }

// redactError wraps err so that its text never shows rawURL's secrets.
func redactError(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	s := secrets(rawURL)
	if len(s) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: s}
}
