package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/gateways"
	"github.com/vigil-video/vigil/internal/ingest"
	"github.com/vigil-video/vigil/internal/record"
	"github.com/vigil-video/vigil/internal/uplink"
)

// buildGateways creates the gateway registry in the hub's index database
// (call it after buildAccountability: changes go to the audit trail);
// enrolling gateways pin the hub's certificate (its SHA-256) when the hub
// serves TLS.
func (h *hub) buildGateways() (*gateways.Registry, error) {
	deps := gateways.Deps{DB: h.idx.DB(), Sites: h.idx, HubCertSHA256: h.certSHA256, Logger: h.log}
	if h.audit != nil { // a nil *audit.Log must not become a non-nil Auditor
		deps.Audit = h.audit
	}
	reg, err := gateways.New(gateways.Config{}, deps)
	if err != nil {
		return nil, fmt.Errorf("gateway registry: %w", err)
	}
	return reg, nil
}

// certSHA256 is the hex SHA-256 of the hub's TLS certificate (DER), "" without TLS.
func (h *hub) certSHA256() string {
	if h.tls == nil || h.tls.Certificate.Leaf == nil {
		return ""
	}
	sum := sha256.Sum256(h.tls.Certificate.Leaf.Raw)
	return hex.EncodeToString(sum[:])
}

// withGatewayEnroll serves gateways.EnrollPath (no user login: the one-time
// token is the credential) and the gateways' uplink (their credential
// instead of a user's), and hands every other request to next.
func withGatewayEnroll(reg *gateways.Registry, uplink, next http.Handler) http.Handler {
	enroll := reg.Enroll()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == gateways.EnrollPath:
			enroll.ServeHTTP(w, r)
		case strings.HasPrefix(r.URL.Path, gateways.UplinkPrefix):
			uplink.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// uplinkHandler serves the gateways' uplink: fragments they upload go into
// the hub's recordings through the writer (record.Importer).
func (h *hub) uplinkHandler(reg *gateways.Registry) http.Handler {
	return reg.Uplink(gateways.UplinkDeps{
		Index: h.idx,
		NewImporter: func(cam, origin string) gateways.Importer {
			return importer{h.writer.NewImporter(cam, origin, h.idx, h.log.With("camera", cam, "component", "import"))}
		},
		IsBadFragment: func(err error) bool { return errors.Is(err, record.ErrBadFragment) },
		RTSPBase:      h.rtspBase,
		Registerer:    h.reg,
	})
}

// rtspBase is the RTSP URL a gateway pushes to, as seen from the gateway:
// the host it reached the HTTP API at, the RTSP listener's port.
func (h *hub) rtspBase(r *http.Request) string {
	host := r.Host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	_, port, err := net.SplitHostPort(h.rtspAddr())
	if err != nil {
		return ""
	}
	scheme := "rtsp://"
	if h.cfg.ListenerTLS(h.cfg.RTSP) {
		scheme = "rtsps://"
	}
	return scheme + net.JoinHostPort(host, port) + "/"
}

// importer adapts record.Importer to the uplink's Importer.
type importer struct{ im *record.Importer }

func (i importer) Import(ctx context.Context, f uplink.Fragment) (bool, error) {
	return i.im.Import(ctx, record.Imported{Seq: f.Seq, Init: f.Init, Data: f.Data, Start: f.Start, Duration: f.Duration, Key: f.Key})
}
func (i importer) Flush(ctx context.Context) (uint64, error) { return i.im.Flush(ctx) }
func (i importer) Close()                                    { i.im.Close() }

// gatewayPublish decides an RTSP request made with a gateway credential as
// the password: handled is false when pass is no gateway credential (the
// user path decides, with its cache). A gateway may only publish, and only
// cameras of its own site; the registry is asked every time (no cache), so
// a revoked gateway is refused at once.
func gatewayPublish(reg *gateways.Registry, siteOf func(camera string) (string, bool),
	pass, cameraID string, action ingest.Action) (handled, ok bool) {
	if !gateways.IsCredential(pass) {
		return false, false
	}
	site, known := siteOf(cameraID)
	if !known || action != ingest.ActionPublish {
		return true, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, ok = reg.AuthorizePublish(ctx, pass, site)
	return true, ok
}

// remoteSitesEvery is how often the hub re-reads which sites have a
// gateway (enrolments and revocations take effect within it).
const remoteSitesEvery = 2 * time.Second

// remoteSites lists the sites whose cameras a gateway pulls: those with an
// enrolled, unrevoked gateway.
func remoteSites(ctx context.Context, reg *gateways.Registry) (map[string]bool, error) {
	gs, err := reg.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list gateways: %w", err)
	}
	sites := map[string]bool{}
	for _, g := range gs {
		if g.Enrolled() && !g.Revoked {
			sites[g.Site] = true
		}
	}
	return sites, nil
}

// watchRemoteSites keeps the camera manager's remote sites current until
// ctx ends. The first set is applied before the cameras start.
func (h *hub) watchRemoteSites(reg *gateways.Registry) component {
	sameSites := func(a, b map[string]bool) bool {
		if len(a) != len(b) {
			return false
		}
		for s := range a {
			if !b[s] {
				return false
			}
		}
		return true
	}
	var last map[string]bool
	if sites, err := remoteSites(context.Background(), reg); err == nil {
		h.cams.SetRemoteSites(sites)
		last = sites
	} else {
		h.log.Warn("read gateway sites", "err", err)
	}
	return component{name: "remote sites", run: func(ctx context.Context) error {
		t := time.NewTicker(remoteSitesEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			sites, err := remoteSites(ctx, reg)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Warn("read gateway sites", "err", err)
				}
				continue
			}
			if !sameSites(sites, last) {
				h.cams.SetRemoteSites(sites)
				last = sites
			}
		}
	}}
}
