package retention

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// StatfsUsage returns a DiskUsage function for the file system holding
// path. Used counts everything not available to unprivileged writers
// (reserved blocks included), since that is the space recording can use.
func StatfsUsage(path string) func() (used, total uint64, err error) {
	return func() (uint64, uint64, error) {
		var st unix.Statfs_t
		if err := unix.Statfs(path, &st); err != nil {
			return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
		}
		bs := uint64(st.Frsize)
		if bs == 0 {
			bs = uint64(st.Bsize)
		}
		total, avail := st.Blocks*bs, st.Bavail*bs
		return total - min(avail, total), total, nil
	}
}
