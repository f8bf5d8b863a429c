//go:build unix && !linux

package retention

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// StatfsUsage returns a DiskUsage function for the file system holding
// path. Used counts everything not available to unprivileged writers.
func StatfsUsage(path string) func() (used, total uint64, err error) {
	return func() (uint64, uint64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
		}
		bs := uint64(st.Bsize)
		total, avail := st.Blocks*bs, uint64(st.Bavail)*bs
		return total - min(avail, total), total, nil
	}
}
