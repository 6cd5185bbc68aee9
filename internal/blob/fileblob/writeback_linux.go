package fileblob

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing the range [off, off+n) of f to the device
// without waiting for it (sync_file_range(2) with SYNC_FILE_RANGE_WRITE only). It is a hint
// that makes the final fdatasync short; it gives no durability by itself, and errors are ignored
// (the fdatasync at Commit reports them).
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// haveSyncFS: syncfs(2) exists here.
const haveSyncFS = true

// syncFS syncs the filesystem that holds f.
func syncFS(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = unix.Syncfs(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
