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

// similar reports whether two messages use mostly the same words (Jaccard
// similarity of their word sets at least one half): a customer repeating
// themselves, as opposed to a follow-up on the same topic.
func similar(a, b string) bool {
	wa, wb := wordSet(a), wordSet(b)
	if len(wa) == 0 || len(wb) == 0 {
		return false
	}
	inter := 0
	for w := range wa {
		if wb[w] {
			inter++
		}
	}
	union := len(wa) + len(wb) - inter
	return inter*2 >= union
}

func wordSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		out[w] = true
	}
	return out
}

// wordsOnly lower-cases s and reduces it to its words separated by single
// spaces, so phrases can be matched on word boundaries.
func wordsOnly(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	}), " ")
}
