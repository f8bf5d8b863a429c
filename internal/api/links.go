package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/auth"
)

// Media links: a short-lived ?access= token for one camera and one kind of
// media, bound to the session (or bearer token) that asked for it. A
// request that carries one must also carry that session's normal
// credentials, so a link copied out of a browser (into a chat, a log, a
// Referer) opens nothing on its own, in another session, for another
// camera or kind, or after it expires.
//
// The token is base64url(kind "." camera "." expiry-unix) "." base64url(MAC)
// with MAC = HMAC-SHA256(key, "vigil-media-link-v1\n" session "\n" payload).
// The session enters only the MAC: the token names no user or session.
// The key is 32 random bytes made when the API is built and kept in memory
// only, so a restart invalidates every link (they expire within minutes
// anyway).

// LinkTTL is how long a media link stays valid.
const LinkTTL = 5 * time.Minute

// accessParam is the query parameter that carries a media link token.
const accessParam = "access"

// Media kinds a link grants, with the permission each needs.
const (
	linkLive     = "live"     // live.m3u8, live/{file}, whep, whep/{session}
	linkPlayback = "playback" // playback.m3u8, segments/{seg}
	linkSnapshot = "snapshot" // snapshot.jpg
	linkExport   = "export"   // export
)

var linkPerm = map[string]auth.Permission{
	linkLive:     auth.PermLive,
	linkPlayback: auth.PermPlayback,
	linkSnapshot: auth.PermLive,
	linkExport:   auth.PermExport,
}

// linkPaths maps the first path element after /api/v1/cameras/{id}/ of a
// media route to the kind of link it accepts.
var linkPaths = map[string]string{
	"live.m3u8":     linkLive,
	"live":          linkLive,
	"whep":          linkLive,
	"playback.m3u8": linkPlayback,
	"segments":      linkPlayback,
	"snapshot.jpg":  linkSnapshot,
	"export":        linkExport,
}

// base64RawURLStrict decodes token parts: unpadded base64url with no
// stray bits, so each token has one spelling.
var base64RawURLStrict = base64.RawURLEncoding.Strict()

// linkSigner makes and checks media link tokens.
type linkSigner struct{ key []byte }

func newLinkSigner() (*linkSigner, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("api: media link key: %w", err)
	}
	return &linkSigner{key: key}, nil
}

func (s *linkSigner) mac(session, payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("vigil-media-link-v1\n"))
	m.Write([]byte(session))
	m.Write([]byte("\n"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// sign makes a token for session, camera and kind, valid until exp.
func (s *linkSigner) sign(session, camera, kind string, exp time.Time) string {
	payload := kind + "." + camera + "." + strconv.FormatInt(exp.Unix(), 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac(session, payload))
}

// verify checks a token presented for camera and kind by session at now.
// The error message is safe to show: it never quotes the token.
func (s *linkSigner) verify(tok, session, camera, kind string, now time.Time) error {
	if len(tok) > 512 {
		return forbidden("media link is malformed")
	}
	p64, m64, ok := strings.Cut(tok, ".")
	enc := base64RawURLStrict
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if !ok || err1 != nil || err2 != nil {
		return forbidden("media link is malformed")
	}
	// The MAC is checked first, so nothing of a forged payload is trusted.
	if session == "" || !hmac.Equal(mac, s.mac(session, string(payload))) {
		return forbidden("media link was not issued to this session")
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 3 {
		return forbidden("media link is malformed")
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	switch {
	case err != nil || strconv.FormatInt(exp, 10) != parts[2]:
		return forbidden("media link is malformed")
	case parts[1] != camera:
		return forbidden("media link is for another camera")
	case parts[0] != kind:
		return forbidden("media link is for another kind of media (%s)", parts[0])
	case !now.Before(time.Unix(exp, 0)):
		return forbidden("media link has expired")
	}
	return nil
}

// linkKind returns the kind of media link the route of r accepts, or "".
func linkKind(r *http.Request) string {
	const prefix = "/api/v1/cameras/{id}/"
	_, path, _ := strings.Cut(r.Pattern, " ")
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return ""
	}
	first, _, _ := strings.Cut(rest, "/")
	return linkPaths[first]
}

// checkLink enforces a media link the request carries, if any: valid only
// on a media route of its kind, for the {id} camera, for p's session and
// before its expiry. Requests without one pass (their credentials alone
// decide).
func (a *API) checkLink(r *http.Request, p auth.Principal) error {
	if !strings.Contains(r.URL.RawQuery, accessParam) {
		return nil
	}
	vals, ok := r.URL.Query()[accessParam]
	if !ok {
		return nil
	}
	if len(vals) != 1 {
		return forbidden("more than one media link")
	}
	kind := linkKind(r)
	if kind == "" {
		return forbidden("media links are not accepted on this route")
	}
	return a.links.verify(vals[0], p.Session, r.PathValue("id"), kind, a.now())
}

// linkRoutes are the routes of media links.
func (a *API) linkRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/cameras/{id}/links", perm: auth.PermView, h: a.createLink},
	}
}

type linkRequest struct {
	Kind string `json:"kind"`
}

type linkJSON struct {
	Camera  string `json:"camera"`
	Kind    string `json:"kind"`
	Access  string `json:"access"`
	Expires string `json:"expires"`
	URL     string `json:"url"`
}

// linkURLs are the URL each kind of link is meant for (the others of the
// kind, such as live/{file} or segments/{seg}, take the same ?access=).
var linkURLs = map[string]string{
	linkLive:     "live.m3u8",
	linkPlayback: "playback.m3u8",
	linkSnapshot: "snapshot.jpg",
	linkExport:   "export",
}

// createLink serves POST /api/v1/cameras/{id}/links {"kind": ...}: a media
// link for the caller's session. 201; 400 for an unknown kind or a caller
// without a session (HTTP Basic); 403 when the role does not grant the
// kind; 404 outside the caller's sites.
func (a *API) createLink(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req linkRequest
	if err := decodeJSON(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		return err
	}
	perm, ok := linkPerm[req.Kind]
	if !ok {
		return badRequest("kind: must be live, playback, snapshot or export")
	}
	c, err := a.cameraFor(r.Context(), p, perm, r.PathValue("id"))
	if err != nil {
		return err
	}
	if p.Session == "" {
		return badRequest("media links need a login session or a bearer token, not HTTP Basic")
	}
	exp := a.now().Add(LinkTTL).Truncate(time.Second)
	tok := a.links.sign(p.Session, c.ID, req.Kind, exp)
	writeJSON(w, http.StatusCreated, linkJSON{
		Camera: c.ID, Kind: req.Kind, Access: tok, Expires: fmtTime(exp),
		URL: "/api/v1/cameras/" + c.ID + "/" + linkURLs[req.Kind] + "?" + accessParam + "=" + tok,
	})
	return nil
}
