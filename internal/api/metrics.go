package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-video/vigil/internal/auth"
)

// httpMetrics counts and times requests by route pattern.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "vigil", Subsystem: "http", Name: "requests_total",
		Help: "HTTP API requests by method, route pattern and status code.",
	}, []string{"method", "route", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "vigil", Subsystem: "http", Name: "request_duration_seconds",
		Help:    "HTTP API request durations by method and route pattern.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})
	var err error
	if req, err = register(reg, req); err != nil {
		return nil, err
	}
	if dur, err = register(reg, dur); err != nil {
		return nil, err
	}
	return &httpMetrics{requests: req, duration: dur}, nil
}

// register registers c, reusing an identical collector already there (two
// API instances on one registry share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("register api metrics: %w", err)
	}
	return c, nil
}

// metricsHandler serves GET /metrics from the registry.
func (a *API) metricsHandler(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	return nil
}
