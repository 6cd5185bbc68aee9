//go:build !linux

package fileblob

import (
	"errors"
	"os"
)

// startWriteback is a no-op where sync_file_range(2) does not exist.
func startWriteback(*os.File, int64, int64) {}

// haveSyncFS: there is no syncfs(2) here (sync(2) need not wait for the writes it starts).
const haveSyncFS = false

func syncFS(*os.File) error { return errors.ErrUnsupported }
