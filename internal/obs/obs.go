// Package obs sets up observability: structured logging with log/slog and a
// Prometheus registry. Nothing here is global: callers build a logger and a
// registry once and inject them into every component.
package obs
