package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vigil-video/vigil/internal/uplink"
)

// CacheFile caches the hub's last config in the data directory, so a
// restart while the hub is down still pulls the cameras.
const CacheFile = "cameras.json"

// configLoop fetches the hub's config now and every ConfigRefresh (with
// backoff while it fails), keeps the cameras' pipelines in line with it,
// and stops them all when ctx ends.
func (g *Gateway) configLoop(ctx context.Context) {
	defer g.stopAll()
	cached, err := g.loadCache()
	switch {
	case err == nil:
		g.apply(ctx, cached)
	case !errors.Is(err, os.ErrNotExist):
		g.log.Warn("ignoring the cached camera list", "err", err)
	default:
		if len(g.cfg.Cameras) > 0 {
			g.apply(ctx, uplink.Config{})
		}
	}
	failures := 0
	for {
		if !g.waitHold(ctx) {
			return
		}
		next := g.cfg.ConfigRefresh
		cfg, err := g.client.Config(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			next = min(time.Duration(failures)*time.Second, g.cfg.ConfigRefresh)
			if failures == 1 || errors.Is(err, ErrCredentialRefused) {
				g.log.Warn("cannot fetch the camera list from the hub; recording goes on", "err", err)
			}
			g.holdOff(err)
		} else {
			if failures > 0 {
				g.log.Info("camera list fetched from the hub again")
			}
			failures = 0
			g.saveCache(cfg)
			g.apply(ctx, cfg)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

func (g *Gateway) loadCache() (uplink.Config, error) {
	var cfg uplink.Config
	b, err := os.ReadFile(filepath.Join(g.cfg.DataDir, CacheFile))
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// saveCache stores cfg (0600: camera sources carry credentials) when it
// changed.
func (g *Gateway) saveCache(cfg uplink.Config) {
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return
	}
	path := filepath.Join(g.cfg.DataDir, CacheFile)
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return
	}
	if err := writeFileAtomic(g.cfg.DataDir, CacheFile, b); err != nil {
		g.log.Warn("cannot cache the camera list", "err", err)
	}
}

// camSpec is everything a camera pipeline is built from; a change of any
// part restarts the pipeline.
type camSpec struct {
	cam  uplink.Camera
	push string // live push URL ("" when none)
	// drain: a camera no longer configured whose spooled backlog is
	// still uploaded (no pull, no push).
	drain bool
}

// desired merges the hub's cameras with the local ones (hub wins by id).
func (g *Gateway) desired(cfg uplink.Config) map[string]camSpec {
	base := cfg.RTSP
	if g.cfg.RTSP != "" {
		base = g.cfg.RTSP
	}
	out := map[string]camSpec{}
	add := func(c uplink.Camera) {
		if _, ok := out[c.ID]; ok || c.ID == "" || c.Source == "" {
			return
		}
		spec := camSpec{cam: c}
		if base != "" {
			spec.push = strings.TrimRight(base, "/") + "/" + c.ID
		}
		out[c.ID] = spec
	}
	for _, c := range cfg.Cameras {
		add(c)
	}
	for _, c := range g.cfg.Cameras {
		add(c)
	}
	for _, id := range g.spool.Cameras() {
		if _, ok := out[id]; !ok && g.hasBacklog(id) {
			out[id] = camSpec{cam: uplink.Camera{ID: id, Record: true}, drain: true}
		}
	}
	return out
}

// hasBacklog says the spool holds fragments of camera the hub has not
// acknowledged.
func (g *Gateway) hasBacklog(camera string) bool {
	e, err := g.spool.Pending(camera, 0, 1)
	return err == nil && len(e) > 0
}

// apply starts, stops and restarts pipelines so they match cfg.
func (g *Gateway) apply(ctx context.Context, cfg uplink.Config) {
	want := g.desired(cfg)
	g.mu.Lock()
	var stop []*camPipe
	for id, p := range g.pipes {
		if spec, ok := want[id]; !ok || spec != p.spec {
			stop = append(stop, p)
			delete(g.pipes, id)
		}
	}
	g.mu.Unlock()
	for _, p := range stop {
		p.stop()
		g.log.Info("camera stopped", "camera", p.spec.cam.ID)
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g.mu.Lock()
		_, running := g.pipes[id]
		g.mu.Unlock()
		if running {
			continue
		}
		p := g.startPipe(ctx, want[id])
		g.mu.Lock()
		g.pipes[id] = p
		g.mu.Unlock()
		if want[id].drain {
			g.log.Info("camera no longer configured; uploading its spooled backlog", "camera", id)
			continue
		}
		g.log.Info("camera started", "camera", id, "record", want[id].cam.Record, "live", p.spec.push != "")
	}
}

// stopAll stops every pipeline and waits for them.
func (g *Gateway) stopAll() {
	g.mu.Lock()
	pipes := make([]*camPipe, 0, len(g.pipes))
	for id, p := range g.pipes {
		pipes = append(pipes, p)
		delete(g.pipes, id)
	}
	g.mu.Unlock()
	for _, p := range pipes {
		p.cancel()
	}
	for _, p := range pipes {
		<-p.done
	}
}
