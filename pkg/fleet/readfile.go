package fleet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// errNotRegular and errTooLarge are what readRegular refuses; callers word
// them for the file in question.
var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = errors.New("file is too large")
)

// readRegular reads the regular file at path, at most limit bytes; with
// truncate a larger file yields its first limit+1 bytes instead of
// errTooLarge (Load lets Parse report the size as a diagnostic).
//
// It never blocks and never floods: the file is opened with O_NONBLOCK, so
// opening a FIFO with no writer returns at once instead of waiting for one;
// then fstat on the open descriptor (no race with a rename) refuses anything
// that is not a regular file (FIFO, socket, device, directory), and the size
// is checked before a byte is read, so a sparse 1 GiB file costs one stat.
// The read itself is bounded too: /proc files say size 0.
func readRegular(path string, limit int64, truncate bool) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%s, %w", fileKind(st.Mode()), errNotRegular)}
	}
	if st.Size() > limit && !truncate {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%d bytes; the limit is %s)", errTooLarge, st.Size(), sizeText(limit))}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit && !truncate {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (more than %s)", errTooLarge, sizeText(limit))}
	}
	return data, nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}

// sizeText renders a byte limit: "64 KiB", "4 MiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
