package intents

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxRunes is how much of a message is looked at. Intents are stated early;
// featurising a pasted e-mail thread in full would only cost time and drown
// the question in noise.
const MaxRunes = 2000

// Placeholder tokens stand in for values whose exact form carries no intent:
// "where is order #A1234" and "where is order #Z9" must look the same.
const (
	tokOrder = "<order>"
	tokNum   = "<num>"
	tokEmail = "<email>"
	tokURL   = "<url>"
)

// foldRune maps a lower-cased rune to its plain form: Latin letters lose
// their diacritics, full-width ASCII becomes ASCII, typographic quotes and
// dashes become ASCII ones. It is a small stand-in for NFKD+strip-marks that
// covers what customers actually type without pulling in x/text. It returns
// 0 for runes to drop and a second rune for the few that expand (ß -> ss).
func foldRune(r rune) (rune, rune) {
	if r < 0x80 {
		return r, 0
	}
	switch {
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		return r - 0xFEE0, 0
	case r >= 0x0300 && r <= 0x036F: // combining marks (decomposed input)
		return 0, 0
	case r == 0x200B || r == 0x200C || r == 0x200D || r == 0xFEFF || r == 0x2060 || r == 0x00AD:
		return 0, 0
	}
	switch r {
	case 'à', 'á', 'â', 'ã', 'ä', 'å', 'ā', 'ă', 'ą':
		return 'a', 0
	case 'ç', 'ć', 'č', 'ĉ':
		return 'c', 0
	case 'ď', 'đ':
		return 'd', 0
	case 'è', 'é', 'ê', 'ë', 'ē', 'ĕ', 'ė', 'ę', 'ě':
		return 'e', 0
	case 'ğ', 'ĝ':
		return 'g', 0
	case 'ì', 'í', 'î', 'ï', 'ī', 'ı', 'į':
		return 'i', 0
	case 'ł', 'ľ':
		return 'l', 0
	case 'ñ', 'ń', 'ň':
		return 'n', 0
	case 'ò', 'ó', 'ô', 'õ', 'ö', 'ø', 'ō', 'ő':
		return 'o', 0
	case 'ř':
		return 'r', 0
	case 'ś', 'š', 'ş', 'ș':
		return 's', 0
	case 'ť', 'ț', 'ţ':
		return 't', 0
	case 'ù', 'ú', 'û', 'ü', 'ū', 'ů', 'ű', 'ų':
		return 'u', 0
	case 'ý', 'ÿ':
		return 'y', 0
	case 'ź', 'ż', 'ž':
		return 'z', 0
	case 'ß':
		return 's', 's'
	case 'æ':
		return 'a', 'e'
	case 'œ':
		return 'o', 'e'
	case 'ﬁ':
		return 'f', 'i'
	case 'ﬂ':
		return 'f', 'l'
	case '‘', '’', '‛', '′', '`', '´':
		return '\'', 0
	case '“', '”', '„', '″', '«', '»':
		return '"', 0
	case '‐', '‑', '‒', '–', '—', '―', '−':
		return '-', 0
	case '＃':
		return '#', 0
	case '…':
		return '.', 0
	}
	if unicode.IsSpace(r) {
		return ' ', 0
	}
	if unicode.IsControl(r) {
		return 0, 0
	}
	return r, 0
}

// fold appends the lower-cased, folded form of at most MaxRunes runes of s
// to dst. Invalid UTF-8 becomes spaces so later stages never see it.
func fold(dst []byte, s string) []byte { return foldCase(dst, s, true) }

// foldCase is fold with lower-casing optional (entity extraction needs the
// case of "CA 90210").
func foldCase(dst []byte, s string, lower bool) []byte {
	n := 0
	for i := 0; i < len(s) && n < MaxRunes; n++ {
		c := s[i]
		if c < utf8.RuneSelf { // fast path: ASCII
			if lower && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			} else if c < ' ' || c == 0x7f {
				c = ' '
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError {
			dst = append(dst, ' ')
			continue
		}
		if lower {
			r = unicode.ToLower(r)
		}
		a, b := foldRune(r)
		if a != 0 {
			dst = utf8.AppendRune(dst, a)
		}
		if b != 0 {
			dst = utf8.AppendRune(dst, b)
		}
	}
	return dst
}

func isWordRune(r rune) bool {
	return r == '\'' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// tokenize splits folded text into tokens, substituting placeholders for
// e-mail addresses, URLs, order numbers and plain numbers and expanding
// contractions. Tokens are substrings of s or constants: no allocation
// beyond growing dst.
func tokenize(dst []string, s string) []string {
	for len(s) > 0 {
		// Next whitespace-delimited chunk.
		i := 0
		for i < len(s) && s[i] == ' ' {
			i++
		}
		s = s[i:]
		j := 0
		for j < len(s) && s[j] != ' ' {
			j++
		}
		chunk := s[:j]
		s = s[j:]
		if chunk == "" {
			continue
		}
		chunk = trimPunct(chunk)
		if chunk == "" {
			continue
		}
		switch {
		case isEmail(chunk):
			dst = append(dst, tokEmail)
			continue
		case strings.HasPrefix(chunk, "http://") || strings.HasPrefix(chunk, "https://") || strings.HasPrefix(chunk, "www."):
			dst = append(dst, tokURL)
			continue
		case isOrderCode(chunk):
			dst = append(dst, tokOrder)
			continue
		}
		dst = splitWords(dst, chunk)
	}
	return dst
}

// trimPunct strips punctuation around a chunk, keeping a leading '#'
// (order numbers) and inner punctuation (e-mails, codes).
func trimPunct(c string) string {
	for len(c) > 0 {
		r, n := utf8.DecodeRuneInString(c)
		if r == '#' || isWordRune(r) && r != '\'' {
			break
		}
		c = c[n:]
	}
	for len(c) > 0 {
		r, n := utf8.DecodeLastRuneInString(c)
		if isWordRune(r) && r != '\'' {
			break
		}
		c = c[:len(c)-n]
	}
	return c
}

// splitWords emits the word runs of chunk (letters, digits, inner
// apostrophes), with numbers replaced and contractions expanded.
func splitWords(dst []string, chunk string) []string {
	for len(chunk) > 0 {
		i := 0
		for i < len(chunk) {
			r, n := utf8.DecodeRuneInString(chunk[i:])
			if isWordRune(r) && r != '\'' {
				break
			}
			i += n
		}
		chunk = chunk[i:]
		j := 0
		for j < len(chunk) {
			r, n := utf8.DecodeRuneInString(chunk[j:])
			if !isWordRune(r) {
				break
			}
			j += n
		}
		w := strings.Trim(chunk[:j], "'")
		chunk = chunk[j:]
		if w == "" {
			continue
		}
		dst = appendWord(dst, w)
	}
	return dst
}

func allDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return len(w) > 0
}

// appendWord handles one word: numbers become a placeholder, contractions
// ("where's", "don't", "I'm", and the apostrophe-less "dont", "im") expand to
// their words so both spellings share features.
func appendWord(dst []string, w string) []string {
	if allDigits(w) {
		return append(dst, tokNum)
	}
	if k := strings.IndexByte(w, '\''); k >= 0 {
		base, suf := w[:k], strings.ReplaceAll(w[k+1:], "'", "")
		switch suf {
		case "t":
			switch base {
			case "can", "ca":
				return append(dst, "can", "not")
			case "won", "wo":
				return append(dst, "will", "not")
			case "shan", "sha":
				return append(dst, "shall", "not")
			case "ain":
				return append(dst, "is", "not")
			}
			if strings.HasSuffix(base, "n") && len(base) > 1 {
				return append(dst, base[:len(base)-1], "not")
			}
		case "s":
			switch base {
			case "it", "that", "what", "where", "how", "who", "there", "here", "he", "she", "when", "why", "which":
				return append(dst, base, "is")
			case "let":
				return append(dst, "let", "us")
			}
			return append(dst, base) // possessive
		case "m":
			return append(dst, base, "am")
		case "re":
			return append(dst, base, "are")
		case "ve":
			return append(dst, base, "have")
		case "ll":
			return append(dst, base, "will")
		case "d":
			return append(dst, base, "would")
		}
		if base == "" {
			return append(dst, suf)
		}
		if suf == "" {
			return append(dst, base)
		}
		return append(dst, base, suf)
	}
	if e, ok := bareContractions[w]; ok {
		return append(dst, e...)
	}
	return append(dst, w)
}

// bareContractions are contractions typed without the apostrophe. Only
// forms that are not also ordinary words are listed ("its", "lets", "id",
// "well" and "were" stay as they are).
var bareContractions = map[string][]string{
	"dont": {"do", "not"}, "doesnt": {"does", "not"}, "didnt": {"did", "not"},
	"cant": {"can", "not"}, "cannot": {"can", "not"}, "wont": {"will", "not"},
	"isnt": {"is", "not"}, "arent": {"are", "not"}, "wasnt": {"was", "not"},
	"werent": {"were", "not"}, "havent": {"have", "not"}, "hasnt": {"has", "not"},
	"hadnt": {"had", "not"}, "couldnt": {"could", "not"}, "shouldnt": {"should", "not"},
	"wouldnt": {"would", "not"}, "aint": {"is", "not"}, "im": {"i", "am"},
	"ive": {"i", "have"}, "youre": {"you", "are"}, "theyre": {"they", "are"},
	"whats": {"what", "is"}, "wheres": {"where", "is"}, "hows": {"how", "is"},
	"thats": {"that", "is"}, "theres": {"there", "is"}, "whos": {"who", "is"},
	"ill": {"i", "will"}, "youve": {"you", "have"}, "weve": {"we", "have"},
	"gonna": {"going", "to"}, "wanna": {"want", "to"}, "gotta": {"got", "to"},
	"pls": {"please"}, "plz": {"please"}, "thx": {"thanks"}, "ty": {"thanks"},
	"u": {"you"}, "ur": {"your"}, "r": {"are"},
}

// Greetings and sign-offs around a real question add nothing but noise:
// "hi there, how long does shipping take?" is a shipping question. They are
// dropped only when something else is left, so "hi" alone stays a greeting.
var (
	greetLead = map[string]bool{
		"hi": true, "hello": true, "hey": true, "hiya": true, "heya": true, "howdy": true,
		"yo": true, "greetings": true, "there": true, "all": true, "team": true,
		"guys": true, "folks": true, "everyone": true, "dear": true, "sir": true,
		"madam": true, "morning": true, "afternoon": true, "evening": true,
	}
	greetTrail = map[string]bool{
		"thanks": true, "thank": true, "you": true, "cheers": true, "please": true,
		"much": true, "so": true, "in": true, "advance": true, "regards": true,
		"a": true, "lot": true,
	}
)

// stripPleasantries removes leading greetings and trailing thanks when at
// least two other tokens remain.
func stripPleasantries(toks []string) []string {
	i := 0
	for i < len(toks) {
		t := toks[i]
		if greetLead[t] && (t != "there" && t != "all" || i > 0) {
			i++
			continue
		}
		if t == "good" && i+1 < len(toks) && (toks[i+1] == "morning" || toks[i+1] == "afternoon" || toks[i+1] == "evening" || toks[i+1] == "day") {
			i += 2
			continue
		}
		break
	}
	if i > 0 && len(toks)-i >= 2 && i < len(toks) {
		toks = toks[i:]
	}
	// Trailing sign-off: only when it begins with a thanks word.
	j := len(toks)
	for j > 0 && greetTrail[toks[j-1]] {
		j--
	}
	if j < len(toks) && j >= 2 {
		k := j
		for k < len(toks) && toks[k] != "thanks" && toks[k] != "thank" && toks[k] != "cheers" && toks[k] != "regards" && toks[k] != "please" {
			k++
		}
		if k < len(toks) {
			toks = toks[:j]
		}
	}
	return toks
}
