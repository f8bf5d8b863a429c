package app

import (
	"github.com/prometheus/client_golang/prometheus"
)

// registerMetrics exposes the writer's and cameras' counters.
func (h *hub) registerMetrics() {
	ws := h.writer.Stats()
	counter := func(name, help string, f func() float64) {
		h.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "vigil", Subsystem: "record", Name: name, Help: help}, f))
	}
	counter("bytes_written_total", "Bytes written to segment files.", func() float64 { return float64(ws.BytesWritten.Load()) })
	counter("fragments_total", "Fragments written.", func() float64 { return float64(ws.Fragments.Load()) })
	counter("segments_total", "Segments opened.", func() float64 { return float64(ws.Segments.Load()) })
	counter("syncs_total", "Group commits (sync + index transaction).", func() float64 { return float64(ws.Syncs.Load()) })
	counter("sync_seconds_total", "Time spent in group commits.", func() float64 { return float64(ws.SyncNanos.Load()) / 1e9 })
	counter("write_errors_total", "Failed segment writes or syncs.", func() float64 { return float64(ws.WriteErrors.Load()) })
	counter("commit_errors_total", "Failed index commits.", func() float64 { return float64(ws.CommitErrors.Load()) })
	counter("dropped_frames_total", "Video frames dropped because the writer was overloaded.", func() float64 { return float64(ws.DroppedFrames.Load()) })
	counter("ignored_units_total", "Units of tracks that are not recorded (e.g. G.711).", func() float64 { return float64(ws.IgnoredUnits.Load()) })
	h.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "vigil", Subsystem: "record", Name: "queued_bytes",
		Help: "Bytes handed to the writer and not yet written."}, func() float64 { return float64(ws.QueuedBytes.Load()) }))
	h.reg.MustRegister(&cameraCollector{h: h})
}

var (
	camOnline  = prometheus.NewDesc("vigil_camera_online", "1 when the camera is delivering video.", []string{"camera"}, nil)
	camFPS     = prometheus.NewDesc("vigil_camera_fps", "Video frames per second received.", []string{"camera"}, nil)
	camBitrate = prometheus.NewDesc("vigil_camera_bitrate_bits", "Bits per second received.", []string{"camera"}, nil)
	camDropped = prometheus.NewDesc("vigil_camera_record_dropped_frames_total", "Video frames the recorder dropped.", []string{"camera"}, nil)
	camReaders = prometheus.NewDesc("vigil_camera_readers", "Readers attached to the camera's stream.", []string{"camera"}, nil)
	camRDrops  = prometheus.NewDesc("vigil_camera_reader_dropped_units_total", "Units slow live readers dropped (never the recorder's).", []string{"camera"}, nil)
)

// cameraCollector reports per-camera status at scrape time.
type cameraCollector struct{ h *hub }

func (c *cameraCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{camOnline, camFPS, camBitrate, camDropped, camReaders, camRDrops} {
		ch <- d
	}
}

func (c *cameraCollector) Collect(ch chan<- prometheus.Metric) {
	for _, id := range c.h.cams.IDs() {
		s := c.h.cams.Status(id)
		online := 0.0
		if s.State == "online" {
			online = 1
		}
		ch <- prometheus.MustNewConstMetric(camOnline, prometheus.GaugeValue, online, id)
		ch <- prometheus.MustNewConstMetric(camFPS, prometheus.GaugeValue, s.FPS, id)
		ch <- prometheus.MustNewConstMetric(camBitrate, prometheus.GaugeValue, s.Bitrate, id)
		ch <- prometheus.MustNewConstMetric(camDropped, prometheus.CounterValue, float64(s.DroppedFrames), id)
		ch <- prometheus.MustNewConstMetric(camReaders, prometheus.GaugeValue, float64(s.Readers), id)
		ch <- prometheus.MustNewConstMetric(camRDrops, prometheus.CounterValue, float64(s.ReaderDrops), id)
	}
}
