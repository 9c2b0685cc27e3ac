package intents

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DetectLanguage guesses the language of a customer message offline. It
// returns a BCP 47 base code: by script for non-Latin text ("ru", "el",
// "ar", "he", "zh", "ja", "ko", "th", "hi", ...), and for Latin text by
// counting very common function words of English, Spanish, French, German,
// Italian, Portuguese and Dutch. A message is only called foreign when the
// evidence is clear (at least two foreign function words, or one plus a
// tell-tale letter such as "ß" or "ñ", and more than English has), so short
// English like "hi" or "thx" stays "en". Latin text with no evidence either
// way is "en" (the shop's language); text with no letters at all is "".
func DetectLanguage(text string) string {
	if len(text) > 4*MaxRunes {
		text = text[:4*MaxRunes]
	}
	var scripts [nScripts]int
	letters := 0
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		scripts[scriptOf(r)]++
	}
	if letters == 0 {
		return ""
	}
	// The dominant non-Latin script decides, unless Latin clearly dominates
	// (an English sentence quoting one foreign word stays English).
	best, bestN := sLatin, 0
	for s := sLatin + 1; s < nScripts; s++ {
		if scripts[s] > bestN {
			best, bestN = s, scripts[s]
		}
	}
	if bestN*2 >= scripts[sLatin] && bestN > 0 {
		switch best {
		case sHan:
			if scripts[sKana] > 0 {
				return "ja"
			}
			return "zh"
		case sCyrillic:
			if strings.ContainsAny(text, "іїєґІЇЄҐ") {
				return "uk"
			}
			return "ru"
		}
		return scriptLang[best]
	}
	if scripts[sLatin] == 0 {
		return ""
	}
	return latinLanguage(text)
}

type script int

const (
	sLatin script = iota
	sCyrillic
	sGreek
	sArabic
	sHebrew
	sHan
	sKana
	sHangul
	sThai
	sDevanagari
	sOther
	nScripts
)

var scriptLang = [nScripts]string{
	sGreek: "el", sArabic: "ar", sHebrew: "he", sKana: "ja", sHangul: "ko",
	sThai: "th", sDevanagari: "hi", sOther: "",
}

func scriptOf(r rune) script {
	switch {
	case r < 0x0250 || unicode.Is(unicode.Latin, r):
		return sLatin
	case unicode.Is(unicode.Cyrillic, r):
		return sCyrillic
	case unicode.Is(unicode.Greek, r):
		return sGreek
	case unicode.Is(unicode.Arabic, r):
		return sArabic
	case unicode.Is(unicode.Hebrew, r):
		return sHebrew
	case unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		return sKana
	case unicode.Is(unicode.Han, r):
		return sHan
	case unicode.Is(unicode.Hangul, r):
		return sHangul
	case unicode.Is(unicode.Thai, r):
		return sThai
	case unicode.Is(unicode.Devanagari, r):
		return sDevanagari
	}
	return sOther
}

// Function-word profiles. Words shared between languages ("a", "de", "la",
// "en", "no", "se") count for each language that has them; the tie is
// broken by the others. English words that are also foreign words ("a",
// "in", "is", "me", "so") are left out of the foreign lists where they would
// make English look foreign.
var stopwords = map[string][]string{
	"en": strings.Fields("the and is are was were to of in on for my your you i it this that what how why where when can could would should do does did not have has with me we they an be at from will am there here please thanks hello hi"),
	"es": strings.Fields("el la los las del que y es por para con una un mi su estoy esta este pero como donde cuando quiero puedo tengo hola gracias pedido no se al lo muy porque tiene hay mis sus"),
	"fr": strings.Fields("le la les des du un une et est pour avec mon ma mes je vous nous pas que qui dans sur ce cette mais ou bonjour merci commande suis ai il elle au aux votre"),
	"de": strings.Fields("der die das und ist nicht ich mit fur auf ein eine einen mein meine wo wie was sie wir ihr den dem des zu bitte danke hallo bestellung habe bin noch kann ist"),
	"it": strings.Fields("il lo la gli le di del della che e non per con un una mio mia sono ho come dove quando ciao grazie ordine perche questo questa ma anche"),
	"pt": strings.Fields("o os as do da dos das que e nao para com um uma meu minha eu voce esta estou como onde quando obrigado obrigada pedido mas por isso tenho"),
	"nl": strings.Fields("de het een en is niet ik mijn met voor op van je u wat waar hoe wij zijn dat dit maar bestelling bedankt hallo heb kan ook nog geen"),
}

// Letters that only (or mostly) occur in one of the profiled languages.
var telltales = map[rune]string{
	'ñ': "es", '¿': "es", '¡': "es",
	'ß': "de", 'ä': "de", 'ö': "de", 'ü': "de",
	'ç': "fr", 'è': "fr", 'ê': "fr", 'à': "fr", 'ù': "fr", 'œ': "fr", 'î': "fr", 'ë': "fr",
	'ã': "pt", 'õ': "pt", 'ò': "it", 'ì': "it",
	'ĳ': "nl",
}

// profileLangs orders the profiled languages, English first.
var profileLangs = [...]string{"en", "es", "fr", "de", "it", "pt", "nl"}

var langIndex = func() map[string]int {
	m := map[string]int{}
	for i, l := range profileLangs {
		m[l] = i
	}
	return m
}()

// stopIndex maps a function word to the indexes of the languages using it.
var stopIndex = func() map[string][]int {
	m := map[string][]int{}
	for lang, ws := range stopwords {
		for _, w := range ws {
			if !slices.Contains(m[w], langIndex[lang]) {
				m[w] = append(m[w], langIndex[lang])
			}
		}
	}
	return m
}()

func latinLanguage(text string) string {
	var counts [len(profileLangs)]float64 // indexed like profileLangs
	for _, r := range text {
		if l, ok := telltales[unicode.ToLower(r)]; ok {
			counts[langIndex[l]] += 0.75
		}
	}
	var buf [512]byte
	folded := fold(buf[:0], text)
	for i := 0; i < len(folded); {
		r, n := utf8.DecodeRune(folded[i:])
		if !unicode.IsLetter(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(folded) {
			r, n := utf8.DecodeRune(folded[j:])
			if !unicode.IsLetter(r) {
				break
			}
			j += n
		}
		for _, l := range stopIndex[string(folded[i:j])] {
			counts[l]++
		}
		i = j
	}
	en := counts[0]
	best, bestN, second := 0, 0.0, 0.0
	for l := 1; l < len(counts); l++ {
		switch {
		case counts[l] > bestN:
			best, bestN, second = l, counts[l], bestN
		case counts[l] > second:
			second = counts[l]
		}
	}
	// Clear evidence: two or more function words (or letters), more than
	// English has and more than the next foreign language.
	if bestN >= 2 && bestN > en*1.25 && bestN > second {
		return profileLangs[best]
	}
	return "en"
}
