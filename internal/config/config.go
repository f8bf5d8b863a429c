// Package config parses Vigil's YAML configuration, applies defaults and
// environment overrides, and validates it, collecting every error. Each
// component receives only its own section.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole file.
type Config struct {
	// Data is the data directory (index, recordings, keys). Default ./vigil-data.
	Data string `yaml:"data"`
	// HTTP is the API/UI listen address. Default 127.0.0.1:8080.
	HTTP string `yaml:"http"`
	// RTSP is the RTSP listen address (push ingest, re-streaming). Default 127.0.0.1:8554.
	RTSP string `yaml:"rtsp"`
	// AllowRemote is deprecated and has no effect: a listener on a
	// non-loopback address is allowed and serves TLS (see TLS and
	// InsecureHTTP). Still accepted so older files parse.
	AllowRemote bool `yaml:"allow_remote"`
	// InsecureHTTP permits plain HTTP and RTSP on non-loopback addresses.
	// Default false: such listeners serve HTTPS and RTSPS.
	InsecureHTTP bool      `yaml:"insecure_http"`
	TLS          TLS       `yaml:"tls"`
	Log          Log       `yaml:"log"`
	Record       Record    `yaml:"record"`
	Retention    Retention `yaml:"retention"`
	// OIDC enables single sign-on with an OpenID Connect provider; nil
	// (absent) means password logins only.
	OIDC *OIDC `yaml:"oidc"`
	// Sites and Cameras are created (or updated) in the index at start.
	Sites   []Site   `yaml:"sites"`
	Cameras []Camera `yaml:"cameras"`
	// Gateway is used by `vigil gateway` only.
	Gateway Gateway `yaml:"gateway"`
}

// OIDC configures single sign-on (authorization code with PKCE). Users
// get the role and sites of the groups the provider says they are in; a
// user in no mapped group cannot sign in.
type OIDC struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"` // optional (public client); never logged
	// RedirectURL is registered at the provider:
	// https://HUB/api/v1/oidc/callback.
	RedirectURL   string               `yaml:"redirect_url"`
	Scopes        []string             `yaml:"scopes"`         // default openid profile email groups
	GroupsClaim   string               `yaml:"groups_claim"`   // default groups
	UsernameClaim string               `yaml:"username_claim"` // default preferred_username
	Groups        map[string]OIDCGroup `yaml:"groups"`
}

// OIDCGroup is the role and sites of a provider group's members.
type OIDCGroup struct {
	Role  string   `yaml:"role"`
	Sites []string `yaml:"sites"`
}

// TLS configures HTTPS and RTSPS. A listener serves TLS when Enable is
// true, or when Enable is unset and a certificate is given or its address
// is not loopback (unless InsecureHTTP). Without Cert and Key the hub uses a
// self-signed certificate it generates in DATA_DIR/tls.
type TLS struct {
	// Enable forces TLS on (true) or off (false) on every listener.
	// Default unset: TLS on non-loopback listeners and wherever a
	// certificate is given, plain HTTP/RTSP on loopback.
	Enable *bool `yaml:"enable"`
	// Cert and Key are PEM files of the certificate (chain) and its key.
	// Default: generated (DATA_DIR/tls/cert.pem, key.pem).
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// ListenerTLS reports whether the listener on addr serves TLS.
func (c *Config) ListenerTLS(addr string) bool {
	if c.TLS.Enable != nil {
		return *c.TLS.Enable
	}
	if c.TLS.Cert != "" {
		return true
	}
	return !isLoopback(addr) && !c.InsecureHTTP
}

// AnyTLS reports whether the HTTP or RTSP listener serves TLS.
func (c *Config) AnyTLS() bool { return c.ListenerTLS(c.HTTP) || c.ListenerTLS(c.RTSP) }

// isLoopback reports whether addr (host:port) listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format"` // text (default) or json
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// Record configures recording.
type Record struct {
	Segment        Duration `yaml:"segment"`          // default 1m
	Fragment       Duration `yaml:"fragment"`         // default 1s
	SyncInterval   Duration `yaml:"sync_interval"`    // default 250ms
	MaxQueuedBytes int64    `yaml:"max_queued_bytes"` // per camera, default 8 MiB
	Workers        int      `yaml:"workers"`          // at most this many writer goroutines, started as needed; default 64
}

// Retention configures deletion of old footage.
type Retention struct {
	// Days is the default per-camera retention. Default 30.
	Days int `yaml:"days"`
	// HighWatermark and LowWatermark are fractions of the disk: above high,
	// the oldest footage is deleted until usage is below low. Defaults 0.90 / 0.85.
	HighWatermark float64 `yaml:"high_watermark"`
	LowWatermark  float64 `yaml:"low_watermark"`
	// MaxBytes, when set, is a quota for recordings: the watermarks apply to
	// it instead of the disk.
	MaxBytes int64 `yaml:"max_bytes"`
	// Interval between retention runs. Default 10s.
	Interval Duration `yaml:"interval"`
}

// Site is a site to create at start.
type Site struct {
	ID     string `yaml:"id"`
	Name   string `yaml:"name"`
	Region string `yaml:"region"`
}

// Camera is a camera to create at start.
type Camera struct {
	ID            string `yaml:"id"`
	Name          string `yaml:"name"`
	Site          string `yaml:"site"`
	Source        string `yaml:"source"`
	Transport     string `yaml:"transport"`
	Record        *bool  `yaml:"record"`
	RetentionDays int    `yaml:"retention_days"`
}

// Duration is a time.Duration written as "1m30s" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Parse decodes YAML (unknown keys are errors) and expands ${VAR}
// references. Callers then apply ApplyEnv, their flags, SetDefaults and
// Validate, in that order (Finish does the last two).
func Parse(data []byte) (*Config, error) {
	c := &Config{}
	dec := yaml.NewDecoder(strings.NewReader(os.ExpandEnv(string(data))))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	return c, nil
}

// Load reads a config file ("" gives the defaults).
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data)
}

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Data, "./vigil-data")
	def(&c.HTTP, "127.0.0.1:8080")
	def(&c.RTSP, "127.0.0.1:8554")
	def(&c.Log.Format, "text")
	def(&c.Log.Level, "info")
	if c.Retention.Days == 0 {
		c.Retention.Days = 30
	}
	if c.Retention.HighWatermark == 0 {
		c.Retention.HighWatermark = 0.90
	}
	if c.Retention.LowWatermark == 0 {
		c.Retention.LowWatermark = 0.85
	}
	if c.Retention.Interval == 0 {
		c.Retention.Interval = Duration(10 * time.Second)
	}
	if c.Record.Segment == 0 {
		c.Record.Segment = Duration(time.Minute)
	}
	if c.Record.Fragment == 0 {
		c.Record.Fragment = Duration(time.Second)
	}
	if c.Record.SyncInterval == 0 {
		c.Record.SyncInterval = Duration(250 * time.Millisecond)
	}
	c.Gateway.SetDefaults()
	for i := range c.Cameras {
		if c.Cameras[i].Record == nil {
			t := true
			c.Cameras[i].Record = &t
		}
	}
}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ValidID reports whether s is a valid site or camera id.
func ValidID(s string) bool { return idRe.MatchString(s) }

// Validate checks the config and returns every problem at once.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for name, addr := range map[string]string{"http": c.HTTP, "rtsp": c.RTSP} {
		if err := c.checkListen(addr); err != nil {
			add("%s: %w", name, err)
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		add("tls: set both cert and key, or neither")
	}
	if c.TLS.Enable != nil && !*c.TLS.Enable && c.TLS.Cert != "" {
		add("tls: enable is false but a cert is given")
	}
	if f := c.Log.Format; f != "text" && f != "json" {
		add("log.format: %q is not text or json", f)
	}
	r := c.Retention
	if r.LowWatermark <= 0 || r.HighWatermark > 0.99 || r.LowWatermark >= r.HighWatermark {
		add("retention: need 0 < low_watermark < high_watermark <= 0.99 (got %v, %v)", r.LowWatermark, r.HighWatermark)
	}
	if r.Days < 0 || r.MaxBytes < 0 {
		add("retention: days and max_bytes must not be negative")
	}
	if c.Record.Fragment.D() > c.Record.Segment.D() {
		add("record: fragment (%v) longer than segment (%v)", c.Record.Fragment.D(), c.Record.Segment.D())
	}
	errs = append(errs, c.validateInventory()...)
	errs = append(errs, c.Gateway.Validate())
	return errors.Join(errs...)
}

func (c *Config) validateInventory() []error {
	var errs []error
	sites := map[string]bool{}
	for i, s := range c.Sites {
		if !ValidID(s.ID) {
			errs = append(errs, fmt.Errorf("sites[%d]: invalid id %q", i, s.ID))
		}
		sites[s.ID] = true
	}
	seen := map[string]bool{}
	for i, cam := range c.Cameras {
		if !ValidID(cam.ID) || seen[cam.ID] {
			errs = append(errs, fmt.Errorf("cameras[%d]: invalid or duplicate id %q", i, cam.ID))
		}
		seen[cam.ID] = true
		if cam.Site != "" && !sites[cam.Site] {
			errs = append(errs, fmt.Errorf("cameras[%d]: unknown site %q (declare it under sites)", i, cam.Site))
		}
		if err := ValidSource(cam.Source); err != nil {
			errs = append(errs, fmt.Errorf("cameras[%d]: %w", i, err))
		}
		if t := cam.Transport; t != "" && t != "tcp" && t != "udp" && t != "auto" {
			errs = append(errs, fmt.Errorf("cameras[%d]: transport %q is not tcp, udp or auto", i, t))
		}
	}
	return errs
}

// ValidSource checks a camera source URL ("" means: waits for a push). The
// error never contains the URL, which may hold a password.
func ValidSource(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "rtsp" && u.Scheme != "rtsps") || u.Host == "" {
		return errors.New("source must be an rtsp:// or rtsps:// URL with a host")
	}
	return nil
}

func (c *Config) checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: %w", addr, err)
	}
	if _, err := strconv.Atoi(port); err != nil {
		return fmt.Errorf("bad port in %q", addr)
	}
	if isLoopback(addr) || c.ListenerTLS(addr) || c.InsecureHTTP {
		return nil
	}
	return fmt.Errorf("%q is not a loopback address and TLS is off; enable TLS or set insecure_http: true to serve plain text on the network", addr)
}

// ApplyEnv overrides fields from VIGIL_* environment variables.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	set := map[string]*string{"VIGIL_DATA": &c.Data, "VIGIL_HTTP": &c.HTTP, "VIGIL_RTSP": &c.RTSP,
		"VIGIL_LOG_FORMAT": &c.Log.Format, "VIGIL_LOG_LEVEL": &c.Log.Level,
		"VIGIL_TLS_CERT": &c.TLS.Cert, "VIGIL_TLS_KEY": &c.TLS.Key,
		"VIGIL_GATEWAY_HUB": &c.Gateway.Hub, "VIGIL_GATEWAY_TOKEN": &c.Gateway.Token, "VIGIL_GATEWAY_DATA": &c.Gateway.DataDir}
	for k, p := range set {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	var errs []error
	if v := getenv("VIGIL_ALLOW_REMOTE"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, err)
		c.AllowRemote = b
	}
	if v := getenv("VIGIL_INSECURE_HTTP"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, err)
		c.InsecureHTTP = b
	}
	if v := getenv("VIGIL_TLS"); v != "" {
		b, err := strconv.ParseBool(v)
		errs = append(errs, err)
		c.TLS.Enable = &b
	}
	if v := getenv("VIGIL_RETENTION_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		errs = append(errs, err)
		c.Retention.Days = n
	}
	if v := getenv("VIGIL_RETENTION_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		errs = append(errs, err)
		c.Retention.MaxBytes = n
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("environment: %w", err)
	}
	return nil
}

// Finish applies defaults and validates.
func (c *Config) Finish() error {
	c.SetDefaults()
	return c.Validate()
}
