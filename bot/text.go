package bot

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMaxTextBytes bounds a customer message when Config.MaxTextBytes is 0.
const DefaultMaxTextBytes = 4000

// CleanText validates a customer's message and returns it trimmed, with
// control characters other than newline and tab removed. Errors are *Error
// values a channel can show the customer.
func CleanText(s string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTextBytes
	}
	if !utf8.ValidString(s) {
		return "", Errorf(ECodeInvalidUTF8, "Your message contains characters we cannot read (invalid UTF-8).")
	}
	if len(s) > maxBytes {
		return "", Errorf(ECodeTooLarge, "Your message is too long: please keep it under %d characters.", maxBytes)
	}
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Errorf(ECodeEmpty, "Your message is empty.")
	}
	return s, nil
}

var emailRE = regexp.MustCompile(`(?i)[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}`)

// findEmail returns the first email address in s, lower-cased, or "".
func findEmail(s string) string {
	return strings.ToLower(emailRE.FindString(s))
}
