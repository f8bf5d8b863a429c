package api

import (
	"net/url"
	"strconv"
	"strings"
)

// maxSourceLen caps a camera source URL.
const maxSourceLen = 2048

// parseSource validates a camera source: empty (the camera waits for a
// push) or an rtsp:// or rtsps:// URL with a host. Errors never contain
// the URL, which may hold a password.
func parseSource(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxSourceLen {
		return nil, badRequest("source: longer than %d bytes", maxSourceLen)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, badRequest("source: not a valid URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return nil, badRequest("source: must be an rtsp:// or rtsps:// URL")
	}
	if u.Hostname() == "" || u.Opaque != "" {
		return nil, badRequest("source: must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, badRequest("source: invalid port")
		}
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return nil, badRequest("source: must not contain whitespace")
	}
	return u, nil
}

// stripSource returns a stored source URL without its credentials, for
// answers and logs. A source that does not parse is hidden entirely.
func stripSource(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid)"
	}
	u.User = nil
	return u.String()
}

// mergeSource applies a PATCHed source to the stored one. The rule: a new
// URL that carries userinfo replaces the credentials ("rtsp://@host/..."
// with an empty userinfo clears them); a new URL without userinfo keeps
// the stored credentials when its host (and port) is the same as the stored
// one, and has none otherwise. So a client can send back the stripped URL
// it was given, or change the path, without knowing the password.
func mergeSource(stored, next string) (string, error) {
	nu, err := parseSource(next)
	if err != nil || nu == nil {
		return "", err
	}
	if hasUserinfo(next) {
		if nu.User != nil && nu.User.String() == "" {
			nu.User = nil
		}
		return nu.String(), nil
	}
	if old, err := url.Parse(stored); err == nil && stored != "" && sameEndpoint(old, nu) {
		nu.User = old.User
	}
	return nu.String(), nil
}

// sameEndpoint reports whether two source URLs name the same host and
// port (the scheme's default port when none is given).
func sameEndpoint(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && effectivePort(a) == effectivePort(b)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "rtsps") {
		return "322"
	}
	return "554"
}

// hasUserinfo reports whether the URL text has an authority with '@'
// (url.Parse drops an empty userinfo, so look at the text).
func hasUserinfo(s string) bool {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}

// redactSource removes the source's password (raw and escaped) and
// userinfo from text, such as a source error from the runtime.
func redactSource(text, source string) string {
	u, err := url.Parse(source)
	if err != nil {
		return "(hidden: source error)"
	}
	if u.User == nil {
		return text
	}
	if ui := u.User.String(); ui != "" {
		text = strings.ReplaceAll(text, ui+"@", "")
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		text = strings.ReplaceAll(text, pw, "***")
		text = strings.ReplaceAll(text, url.QueryEscape(pw), "***")
		text = strings.ReplaceAll(text, url.PathEscape(pw), "***")
	}
	return text
}
