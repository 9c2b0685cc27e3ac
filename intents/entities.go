package intents

import (
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ExtractEntities finds order numbers, e-mail addresses and postcodes in a
// message, whatever its intent. Order numbers are upper-cased without a
// leading '#' ("#a1234" -> "A1234"), e-mail addresses lower-cased, postcodes
// upper-cased with UK/Canadian ones written with one space ("sw1a1aa" ->
// "SW1A 1AA"). Each value is listed once, in order of appearance.
//
// Recognised order numbers: "#A1234", "#100234", "A1234", "ORD-5512"
// (one to four letters, optional hyphen, at least three digits) and a bare
// number of four or more digits right after a word like "order" or "ref"
// ("order 100234", "order number: 100234"). Postcodes: UK ("SW1A 1AA"),
// Canadian ("K1A 0B1"), US ZIP+4 anywhere, and a bare five-digit ZIP or a
// Dutch "1234 AB" only next to "zip"/"postcode" or after an upper-case US
// state code ("CA 90210"), because a bare number is more often an amount.
func ExtractEntities(text string) bot.Entities {
	var e bot.Entities
	// Every entity has a digit or an '@': most messages have neither.
	if strings.IndexFunc(text, func(r rune) bool { return r == '@' || '0' <= r && r <= '9' || r >= 0xFF10 && r <= 0xFF19 }) < 0 {
		return e
	}
	var buf [256]byte
	folded := string(foldCase(buf[:0], text, false))
	chunks := strings.FieldsFunc(folded, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '(' || r == ')' || r == '<' || r == '>' || r == '"' || r == '[' || r == ']' || r == '|'
	})
	for i := range chunks {
		chunks[i] = trimPunct(chunks[i])
	}
	used := make([]bool, len(chunks))
	for i, c := range chunks {
		if c == "" {
			continue
		}
		lc := strings.ToLower(c)
		if isEmail(lc) {
			e.Emails = appendUniq(e.Emails, lc)
			used[i] = true
			continue
		}
		if code, ok := orderCode(lc); ok {
			e.OrderNumbers = appendUniq(e.OrderNumbers, code)
			used[i] = true
			continue
		}
		if allDigits(lc) && len(lc) >= 4 && len(lc) <= 20 && after(chunks, i, orderWords) {
			e.OrderNumbers = appendUniq(e.OrderNumbers, lc)
			used[i] = true
		}
	}
	for i := 0; i < len(chunks); i++ {
		if used[i] || chunks[i] == "" {
			continue
		}
		lc := strings.ToLower(chunks[i])
		// Two-part UK / Canadian / Dutch codes.
		if i+1 < len(chunks) && !used[i+1] {
			next := strings.ToLower(chunks[i+1])
			if isUKOutward(lc) && isUKInward(next) || isCAHalf(lc, true) && isCAHalf(next, false) {
				e.Postcodes = appendUniq(e.Postcodes, strings.ToUpper(lc+" "+next))
				used[i], used[i+1] = true, true
				i++
				continue
			}
			if len(lc) == 4 && allDigits(lc) && len(next) == 2 && isLetters(next) && after(chunks, i, postcodeWords) {
				e.Postcodes = appendUniq(e.Postcodes, lc+" "+strings.ToUpper(next))
				used[i], used[i+1] = true, true
				i++
				continue
			}
		}
		if n := len(lc); n >= 5 && n <= 7 && isUKOutward(lc[:n-3]) && isUKInward(lc[n-3:]) {
			e.Postcodes = appendUniq(e.Postcodes, strings.ToUpper(lc[:n-3]+" "+lc[n-3:]))
			continue
		}
		if len(lc) == 6 && isCAHalf(lc[:3], true) && isCAHalf(lc[3:], false) {
			e.Postcodes = appendUniq(e.Postcodes, strings.ToUpper(lc[:3]+" "+lc[3:]))
			continue
		}
		if len(lc) == 10 && lc[5] == '-' && allDigits(lc[:5]) && allDigits(lc[6:]) {
			e.Postcodes = appendUniq(e.Postcodes, lc)
			continue
		}
		if len(lc) == 5 && allDigits(lc) && (after(chunks, i, postcodeWords) || i > 0 && usStates[chunks[i-1]]) {
			e.Postcodes = appendUniq(e.Postcodes, lc)
		}
	}
	return e
}

var (
	orderWords = map[string]bool{
		"order": true, "orders": true, "ord": true, "ref": true, "reference": true,
		"confirmation": true, "invoice": true, "purchase": true, "booking": true,
	}
	postcodeWords = map[string]bool{
		"zip": true, "zipcode": true, "postcode": true, "postal": true, "post": true,
		"plz": true, "cp": true, "postleitzahl": true,
	}
	// usStates are the upper-case two-letter codes: upper case is required
	// because several ("IN", "OR", "ME", "HI", "OK") are English words.
	usStates = func() map[string]bool {
		m := map[string]bool{}
		for _, s := range strings.Fields("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR") {
			m[s] = true
		}
		return m
	}()
)

// after reports whether one of the three chunks before i is a cue word
// (ignoring "number", "no", "is", "#" and similar fillers in between).
func after(chunks []string, i int, cues map[string]bool) bool {
	for k := i - 1; k >= 0 && k >= i-4; k-- {
		w := strings.TrimRight(strings.ToLower(chunks[k]), ":#.")
		if cues[w] {
			return true
		}
		switch w {
		case "number", "no", "nr", "num", "is", "was", "id", "code", "my", "the", "":
			continue
		}
		return false
	}
	return false
}

func appendUniq(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return len(s) > 0
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' }

// isEmail is a permissive check on a lower-cased chunk: one '@', a
// non-empty local part and a dotted domain with a letter TLD.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 {
		return false
	}
	dom := s[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	if dot <= 0 || len(dom)-dot-1 < 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || isDigit(c) || c == '@' || strings.IndexByte("._%+-'", c) >= 0 || c >= 0x80) {
			return false
		}
	}
	return isLetters(dom[dot+1:])
}

// isOrderCode reports whether a lower-cased chunk looks like a shop order
// number (see ExtractEntities).
func isOrderCode(s string) bool {
	_, ok := orderCode(s)
	return ok
}

// orderCode returns the normalised order number in a lower-cased chunk.
func orderCode(s string) (string, bool) {
	if len(s) < 3 || len(s) > 32 {
		return "", false
	}
	hash := false
	if k := strings.LastIndexByte(s, '#'); k >= 0 {
		// "#A1234", "order#100234", "no.#5512"
		s = s[k+1:]
		hash = true
	}
	if len(s) < 3 || len(s) > 24 {
		return "", false
	}
	digits, maxRun, run := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			digits++
			run++
			if run > maxRun {
				maxRun = run
			}
		case isLetter(c), c == '-' || c == '_':
			run = 0
		default:
			return "", false
		}
	}
	if hash {
		if digits < 3 || s[0] == '-' {
			return "", false
		}
		return strings.ToUpper(s), true
	}
	// letters{1,4} [-_]? digits{3,} ([-_]? alnum+)*
	i := 0
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	if i == 0 || i > 4 {
		return "", false
	}
	if i < len(s) && (s[i] == '-' || s[i] == '_') {
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j-i < 3 {
		return "", false
	}
	if j < len(s) && s[len(s)-1] == '-' {
		return "", false
	}
	return strings.ToUpper(s), true
}

// UK postcode outward code: A9, A99, A9A, AA9, AA99, AA9A.
func isUKOutward(s string) bool {
	switch len(s) {
	case 2:
		return isLetter(s[0]) && isDigit(s[1])
	case 3:
		return isLetter(s[0]) && isDigit(s[1]) && (isDigit(s[2]) || isLetter(s[2])) ||
			isLetter(s[0]) && isLetter(s[1]) && isDigit(s[2])
	case 4:
		return isLetter(s[0]) && isLetter(s[1]) && isDigit(s[2]) && (isDigit(s[3]) || isLetter(s[3]))
	}
	return false
}

// UK inward code: 9AA, the letters never C, I, K, M, O or V.
func isUKInward(s string) bool {
	return len(s) == 3 && isDigit(s[0]) && isLetter(s[1]) && isLetter(s[2]) &&
		strings.IndexByte("cikmov", s[1]) < 0 && strings.IndexByte("cikmov", s[2]) < 0
}

// Canadian halves: A9A (forward sortation area) and 9A9.
func isCAHalf(s string, first bool) bool {
	if len(s) != 3 {
		return false
	}
	if first {
		return isLetter(s[0]) && isDigit(s[1]) && isLetter(s[2])
	}
	return isDigit(s[0]) && isLetter(s[1]) && isDigit(s[2])
}
