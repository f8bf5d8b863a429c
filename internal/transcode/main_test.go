package transcode

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind
// (transcode jobs, ffmpeg output readers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
