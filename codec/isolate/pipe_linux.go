package isolate

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks for a 1 MiB pipe buffer (the default limit for unprivileged processes,
// /proc/sys/fs/pipe-max-size), so a frame crosses in a few large copies instead of 16 KiB
// ping-pong. It is a hint: on failure the default 64 KiB stays.
func growPipe(f *os.File) {
	_, _ = unix.FcntlInt(f.Fd(), unix.F_SETPIPE_SZ, 1<<20)
}
