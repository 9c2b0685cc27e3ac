//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package console

import "errors"

// IsTerminal reports whether fd is a terminal. On this platform prompts
// are not supported, so it always says no: pass the password on standard
// input or in FRONTDESK_AGENT_PASSWORD instead.
func IsTerminal(int) bool { return false }

// ReadPassword is not supported on this platform.
func ReadPassword(int) ([]byte, error) {
	return nil, errors.New("console: password prompts are not supported on this platform")
}
