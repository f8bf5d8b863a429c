package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// EnrollPath is the hub's enrolment endpoint (internal/gateways).
const EnrollPath = "/api/v1/gateways/enroll"

// IdentityFile is the name of the gateway's identity in its data directory.
const IdentityFile = "gateway.json"

// ErrTokenRefused is returned when the hub refuses the enrolment token
// (unknown, used, expired or revoked): no retry can fix it.
var ErrTokenRefused = errors.New("enrolment token refused by the hub (unknown, used, expired or revoked)")

// ErrBadSetup is wrapped by errors in the gateway's own settings (hub URL,
// token, identity file) that no retry can fix.
var ErrBadSetup = errors.New("gateway setup")

// Identity is what a gateway holds after enrolment (DIR/gateway.json,
// mode 0600). Credential is a secret: it is never logged.
type Identity struct {
	Hub           string `json:"hub"`
	Gateway       string `json:"gateway"`
	Site          string `json:"site"`
	Credential    string `json:"credential"`
	HubCertSHA256 string `json:"hub_cert_sha256"`
}

// TLS returns the client TLS config every connection to the hub uses: the
// pinned certificate, or nil for a plain-HTTP (loopback) hub.
func (id Identity) TLS() *tls.Config {
	if id.HubCertSHA256 == "" {
		return nil
	}
	return PinnedTLS(id.HubCertSHA256)
}

// LoadIdentity reads DIR/gateway.json; it returns an error wrapping
// fs.ErrNotExist when the gateway has not enrolled yet.
func LoadIdentity(dir string) (Identity, error) {
	var id Identity
	b, err := os.ReadFile(filepath.Join(dir, IdentityFile))
	if err != nil {
		return id, fmt.Errorf("read gateway identity: %w", err)
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return id, fmt.Errorf("%w: decode gateway identity %s: %w", ErrBadSetup, filepath.Join(dir, IdentityFile), err)
	}
	if id.Hub == "" || id.Gateway == "" || id.Credential == "" {
		return id, fmt.Errorf("%w: gateway identity %s is incomplete (hub, gateway and credential required)", ErrBadSetup, filepath.Join(dir, IdentityFile))
	}
	return id, nil
}

// EnsureIdentity returns the gateway's identity: the one stored in dir if
// there is one (the token is then not used), or a new one from enrolling
// token with hub, stored in dir before it is returned.
func EnsureIdentity(ctx context.Context, hub, token, dir string, log *slog.Logger) (Identity, error) {
	id, err := LoadIdentity(dir)
	if err == nil {
		if token != "" {
			log.Info("already enrolled; the enrolment token is not used", "gateway", id.Gateway, "identity", filepath.Join(dir, IdentityFile))
		}
		if h := strings.TrimRight(hub, "/"); h != "" && h != id.Hub {
			// A moved hub (new address, same certificate) is reached at the
			// given URL: the pin still decides whom the credential goes to.
			if u, err := url.Parse(h); err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && id.HubCertSHA256 != "" {
				log.Info("using the given hub URL instead of the enrolled one (same pinned certificate)", "hub", h, "enrolled", id.Hub)
				id.Hub = h
			} else {
				log.Warn("hub URL differs from the enrolled one; using the enrolled hub", "enrolled", id.Hub)
			}
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Identity{}, err
	}
	if token == "" {
		return Identity{}, fmt.Errorf("%w: not enrolled yet: give the hub URL (--hub) and the one-time enrolment token (--token)", ErrBadSetup)
	}
	id, err = Enroll(ctx, hub, token, log)
	if err != nil {
		return Identity{}, err
	}
	if err := saveIdentity(dir, id); err != nil {
		return Identity{}, err
	}
	log.Info("enrolled with the hub", "gateway", id.Gateway, "site", id.Site, "hub", id.Hub)
	return id, nil
}

// Enroll presents the one-time token to the hub and returns the identity
// it grants. A token carrying a certificate pin ("~<sha256>") is sent only
// over a TLS connection whose certificate matches it; an https hub without
// a pin is trusted on first use (its answer must name the certificate the
// connection saw); plain http is allowed only for a loopback hub.
func Enroll(ctx context.Context, hub, token string, log *slog.Logger) (Identity, error) {
	u, err := url.Parse(strings.TrimRight(hub, "/"))
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return Identity{}, fmt.Errorf("%w: hub URL must be https://host[:port] (got %q)", ErrBadSetup, hub)
	}
	pin, err := splitToken(token)
	if err != nil {
		return Identity{}, err
	}
	tlsCfg, seen, err := enrollTLS(u, pin, log)
	if err != nil {
		return Identity{}, err
	}
	tr := &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ans, err := postEnroll(ctx, client, u.String(), token)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{Hub: u.String(), Gateway: ans.Gateway, Site: ans.Site, Credential: ans.Credential}
	if u.Scheme == "https" {
		got, err := normalizePin(ans.HubCertSHA256)
		if err != nil {
			return Identity{}, fmt.Errorf("enrol: hub_cert_sha256 in the answer: %w", err)
		}
		if got != seen() {
			return Identity{}, fmt.Errorf("enrol: %w: the hub says %s, the connection presented %s", ErrPinMismatch, got, seen())
		}
		id.HubCertSHA256 = got
	}
	return id, nil
}

// enrollTLS picks the TLS config for enrolment and returns a func giving
// the hash of the certificate the connection accepted.
func enrollTLS(u *url.URL, pin string, log *slog.Logger) (*tls.Config, func() string, error) {
	switch {
	case u.Scheme == "http" && !loopbackURL(u):
		return nil, nil, fmt.Errorf("%w: hub %s: plain http is only allowed for a loopback hub; use https", ErrBadSetup, u.Host)
	case u.Scheme == "http":
		log.Warn("enrolling over plain http with a loopback hub (tests and demo only)", "hub", u.String())
		return nil, func() string { return "" }, nil
	case pin != "":
		return PinnedTLS(pin), func() string { return pin }, nil
	default:
		log.Warn("enrolment token carries no certificate pin: trusting the hub's certificate on first use", "hub", u.String())
		cfg, seen := tofuTLS()
		return cfg, seen, nil
	}
}

type enrollAnswer struct {
	Gateway       string `json:"gateway"`
	Site          string `json:"site"`
	Credential    string `json:"credential"`
	HubCertSHA256 string `json:"hub_cert_sha256"`
}

func postEnroll(ctx context.Context, client *http.Client, hub, token string) (enrollAnswer, error) {
	var ans enrollAnswer
	body, _ := json.Marshal(map[string]string{"token": token})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hub+EnrollPath, bytes.NewReader(body))
	if err != nil {
		return ans, fmt.Errorf("enrol: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return ans, fmt.Errorf("enrol with %s: %w", hub, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return ans, ErrTokenRefused
	}
	if resp.StatusCode != http.StatusOK {
		return ans, fmt.Errorf("enrol with %s: %s", hub, statusText(resp))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&ans); err != nil {
		return ans, fmt.Errorf("enrol: decode the hub's answer: %w", err)
	}
	if ans.Gateway == "" || ans.Credential == "" {
		return ans, errors.New("enrol: the hub's answer has no gateway id or credential")
	}
	return ans, nil
}

// statusText describes an unexpected HTTP answer (status and the start of
// its body, which never carries our secrets).
func statusText(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Sprintf("hub answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
}

// saveIdentity writes DIR/gateway.json atomically with mode 0600.
func saveIdentity(dir string, id Identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("encode gateway identity: %w", err)
	}
	if err := writeFileAtomic(dir, IdentityFile, b); err != nil {
		return fmt.Errorf("save gateway identity: %w", err)
	}
	return nil
}

// writeFileAtomic replaces dir/name with b (mode 0600): tmp, fsync,
// rename, directory fsync.
func writeFileAtomic(dir, name string, b []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
