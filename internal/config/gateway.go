package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Gateway configures the site gateway role (`vigil gateway`). Each key is
// also a flag of that command, which wins over the file.
type Gateway struct {
	// Hub is the hub's base URL, https://host[:port] (http:// only for a
	// loopback hub). Needed for the first start (enrolment).
	Hub string `yaml:"hub"`
	// Token is the one-time enrolment token ("vge_...", carrying the hub
	// certificate pin after a "~"). A secret; ignored once enrolled.
	Token string `yaml:"token"`
	// DataDir holds the identity, the camera cache and the spool. Default
	// ./vigil-gateway.
	DataDir string `yaml:"data_dir"`
	// BackfillRate caps the upload of recorded footage to the hub, in
	// bits/s ("8Mbit", "500k", "0" for no cap). Live video is never
	// capped. Default 8Mbit.
	BackfillRate BitRate `yaml:"backfill_rate"`
	// SpoolQuota bounds the local store-and-forward spool ("50GB", "500MB",
	// "2GiB"). Default 50GB.
	SpoolQuota ByteSize `yaml:"spool_quota"`
	// RTSP overrides the hub's RTSP base URL for live pushes
	// (rtsps://host:port), for NAT and tests. Default: the hub's.
	RTSP string `yaml:"rtsp"`
	// Cameras are pulled in addition to the hub's list (a hub camera of the
	// same id wins), and when the hub's list cannot be had.
	Cameras []GatewayCamera `yaml:"cameras"`
}

// GatewayCamera is a camera a gateway pulls on its own say.
type GatewayCamera struct {
	ID        string `yaml:"id"`
	Source    string `yaml:"source"`    // rtsp:// or rtsps:// with credentials; never logged
	Transport string `yaml:"transport"` // tcp, udp or auto (default)
	Record    *bool  `yaml:"record"`    // default true
}

// Gateway defaults.
const (
	DefaultGatewayDataDir = "./vigil-gateway"
	DefaultBackfillRate   = 8_000_000      // bits/s
	DefaultSpoolQuota     = 50_000_000_000 // bytes
)

// SetDefaults fills the gateway section's unset fields.
func (g *Gateway) SetDefaults() {
	if g.DataDir == "" {
		g.DataDir = DefaultGatewayDataDir
	}
	if g.BackfillRate.unset() {
		g.BackfillRate = BitRate{BitsPerSecond: DefaultBackfillRate, set: true}
	}
	if g.SpoolQuota == 0 {
		g.SpoolQuota = DefaultSpoolQuota
	}
	for i := range g.Cameras {
		if g.Cameras[i].Record == nil {
			t := true
			g.Cameras[i].Record = &t
		}
	}
}

// Validate checks the gateway section and returns every problem at once.
// The hub URL is not required here: an enrolled gateway has it stored.
func (g *Gateway) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("gateway: "+format, a...)) }
	if g.Hub != "" {
		if err := ValidHubURL(g.Hub); err != nil {
			add("hub: %w", err)
		}
	}
	if g.RTSP != "" {
		u, err := url.Parse(g.RTSP)
		if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" || u.User != nil {
			add("rtsp: must be rtsp://host:port or rtsps://host:port without credentials")
		}
	}
	if g.SpoolQuota < 0 || (g.SpoolQuota > 0 && g.SpoolQuota < 16<<20) {
		add("spool_quota: %d bytes is too small (at least 16MiB)", int64(g.SpoolQuota))
	}
	seen := map[string]bool{}
	for i, cam := range g.Cameras {
		if !ValidID(cam.ID) || seen[cam.ID] {
			add("cameras[%d]: invalid or duplicate id %q", i, cam.ID)
		}
		seen[cam.ID] = true
		if cam.Source == "" {
			add("cameras[%d]: source is required", i)
		} else if err := ValidSource(cam.Source); err != nil {
			add("cameras[%d]: %w", i, err)
		}
		if t := cam.Transport; t != "" && t != "tcp" && t != "udp" && t != "auto" {
			add("cameras[%d]: transport %q is not tcp, udp or auto", i, t)
		}
	}
	return errors.Join(errs...)
}

// ValidHubURL checks a hub base URL: https, or http for a loopback host
// only. The error never contains the URL.
func ValidHubURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return errors.New("must be https://host[:port]")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return errors.New("plain http is allowed only for a loopback hub; use https")
	}
	return errors.New("must be https://host[:port]")
}

// BitRate is a rate in bits/s written as "8Mbit", "500k", "2.5M",
// "8Mbps" or a plain number (decimal multiples: k = 1000). "0" means no
// cap.
type BitRate struct {
	BitsPerSecond int64
	set           bool
}

func (b BitRate) unset() bool { return !b.set && b.BitsPerSecond == 0 }

// ParseBitRate parses a BitRate.
func ParseBitRate(s string) (BitRate, error) {
	t := strings.TrimSpace(s)
	for _, suf := range []string{"bit/s", "bps", "bit", "b/s"} {
		if len(t) > len(suf) && strings.EqualFold(t[len(t)-len(suf):], suf) {
			t = t[:len(t)-len(suf)]
			break
		}
	}
	n, err := parseScaled(t, map[string]float64{"": 1, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9})
	if err != nil {
		return BitRate{}, fmt.Errorf("bit rate %q: %w (want e.g. 8Mbit, 500k, 0)", s, err)
	}
	return BitRate{BitsPerSecond: n, set: true}, nil
}

// String formats the rate.
func (b BitRate) String() string { return strconv.FormatInt(b.BitsPerSecond, 10) + "bit/s" }

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *BitRate) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBitRate(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// ByteSize is a size in bytes written as "50GB", "500MB", "2GiB", "10G"
// or a plain number (KB/MB/GB/TB are decimal, KiB/MiB/GiB/TiB binary).
type ByteSize int64

// ParseByteSize parses a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	units := map[string]float64{"": 1, "B": 1,
		"K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	n, err := parseScaled(t[:i]+strings.ToUpper(strings.TrimSpace(t[i:])), units)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w (want e.g. 50GB, 500MB, 2GiB)", s, err)
	}
	return ByteSize(n), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// parseScaled parses a non-negative number followed by one of units.
func parseScaled(s string, units map[string]float64) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, errors.New("no number")
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, errors.New("bad number")
	}
	mul, ok := units[strings.TrimSpace(s[i:])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", strings.TrimSpace(s[i:]))
	}
	v *= mul
	if v > math.MaxInt64/2 || math.IsNaN(v) {
		return 0, errors.New("too large")
	}
	return int64(v), nil
}
