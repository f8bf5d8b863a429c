module github.com/vigil-video/vigil

go 1.26.8

require golang.org/x/crypto v0.48.0

require (
	github.com/bluenviron/gortsplib/v5 v5.6.4
	github.com/bluenviron/mediacommon/v2 v2.9.3
	github.com/pion/rtp v1.10.5
	github.com/prometheus/client_golang v1.25.0
	go.uber.org/goleak v1.3.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.49.0 // indirect
	modernc.org/sqlite v1.62.0
)
