//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package console

import (
	"golang.org/x/sys/unix"
)

// IsTerminal reports whether fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	return err == nil
}

// ReadPassword reads a line from the terminal fd without echoing it.
func ReadPassword(fd int) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &quiet); err != nil {
		return nil, err
	}
	defer func() { _ = unix.IoctlSetTermios(fd, ioctlSetTermios, old) }()
	return readLine(fd)
}

// readLine reads up to a newline, byte by byte so nothing after it is
// consumed.
func readLine(fd int) ([]byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := unix.Read(fd, b[:])
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			if b[0] != '\r' {
				line = append(line, b[0])
			}
			if len(line) > 1024 {
				return line, nil
			}
			continue
		}
		if err != nil && err != unix.EINTR {
			return line, err
		}
		if n == 0 && err == nil {
			return line, nil // end of input
		}
	}
}
