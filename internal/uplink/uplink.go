// Package uplink owns the protocol between a site gateway and the hub
// (docs/format/uplink.md): the HTTP paths, the JSON messages, and the
// fragment stream a gateway uploads its spooled recordings in.
//
// Every request is authenticated with the gateway's credential
// (`Authorization: Bearer vgc_...`, from enrolment) and runs over the hub's
// TLS listener with the hub certificate pinned. Live video does not use
// this channel: the gateway pushes it with RTSP RECORD.
package uplink

import (
	"time"
)

// HTTP paths, relative to the hub's base URL.
const (
	// PathConfig answers GET with Config: the gateway's site and cameras.
	PathConfig = "/api/v1/uplink/config"
	// PathStatus takes POST of a Status report (every few seconds).
	PathStatus = "/api/v1/uplink/status"
	// PathFragments is the pattern of a camera's fragment channel: GET
	// answers Progress (what the hub stored of an origin), POST takes a
	// fragment stream and answers Progress once it is durable.
	PathFragments = "/api/v1/uplink/cameras/{id}/fragments"
)

// FragmentsPath returns PathFragments for a camera and spool origin.
func FragmentsPath(camera, origin string) string {
	return "/api/v1/uplink/cameras/" + camera + "/fragments?origin=" + origin
}

// ContentType is the media type of a fragment stream.
const ContentType = "application/vnd.vigil.fragments"

// Config is what the hub tells a gateway about itself.
type Config struct {
	Gateway string `json:"gateway"`
	Site    string `json:"site"`
	// RTSP is the base URL the gateway pushes live video to: RTSP is
	// RTSP + camera id (rtsps:// when the hub serves TLS).
	RTSP    string   `json:"rtsp"`
	Cameras []Camera `json:"cameras"`
}

// Camera is one camera the gateway pulls. Source is the address as seen
// from the site, with its credentials: this answer goes only to the
// gateway of the camera's site, over TLS, and is never logged.
type Camera struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Source    string `json:"source"`
	Transport string `json:"transport,omitempty"`
	Record    bool   `json:"record"`
}

// Status is a gateway's periodic report.
type Status struct {
	Time   time.Time `json:"time"`
	Origin string    `json:"origin"`
	Spool  Spool     `json:"spool"`
	// UplinkBPS is the fragment channel's measured rate over the last
	// report interval, bytes per second; RateCapBPS its configured cap
	// (0: none).
	UplinkBPS  float64        `json:"uplink_bps"`
	RateCapBPS float64        `json:"rate_cap_bps"`
	Cameras    []CameraStatus `json:"cameras"`
}

// Spool summarises the gateway's store-and-forward buffer.
type Spool struct {
	Bytes         int64     `json:"bytes"`
	Quota         int64     `json:"quota"`
	Fragments     int       `json:"fragments"`
	OldestPending time.Time `json:"oldest_pending,omitzero"`
	Dropped       uint64    `json:"dropped"`
}

// CameraStatus is one camera's part of a Status.
type CameraStatus struct {
	ID        string    `json:"id"`
	Online    bool      `json:"online"`
	Error     string    `json:"error,omitempty"` // never holds credentials
	LastFrame time.Time `json:"last_frame,omitzero"`
	// Live says the live push to the hub is up.
	Live bool `json:"live"`
	// Backlog is what the gateway holds that the hub has not
	// acknowledged: the hub shows it as a pending gap.
	Backlog Backlog `json:"backlog"`
	// Dropped counts fragments lost to the spool quota; Lost are their
	// time ranges not yet acknowledged as gaps.
	Dropped uint64  `json:"dropped"`
	Lost    []Range `json:"lost,omitempty"`
}

// Backlog is a run of spooled fragments not yet acknowledged.
type Backlog struct {
	Fragments int       `json:"fragments"`
	Bytes     int64     `json:"bytes"`
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
}

// Range is a run of fragments lost at the site.
type Range struct {
	FirstSeq uint64    `json:"first_seq"`
	LastSeq  uint64    `json:"last_seq"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// Progress is what the hub durably holds of one camera's origin: every
// seq up to LastSeq (0: none), ending at End.
type Progress struct {
	Camera  string    `json:"camera"`
	Origin  string    `json:"origin"`
	LastSeq uint64    `json:"last_seq"`
	End     time.Time `json:"end,omitzero"`
}
