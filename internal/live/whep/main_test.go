package whep

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves goroutines behind (peer
// connections, session pumps, RTCP readers).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
