package intents

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Feature blocks are normalised separately (like stacking a word and a
// character TF-IDF vectoriser) so that long words' many character n-grams
// do not drown the word features.
const (
	blockWord = 0
	blockPair = 1
	blockChar = 2
	nBlocks   = 3
)

// The top two bits of a feature hash say which block it belongs to.
const (
	blockMask = uint64(3) << 62
	pairBit   = uint64(1) << 62
	charBit   = uint64(2) << 62
)

func blockOf(h uint64) uint8 { return uint8(h >> 62) }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func hashRunes(h uint64, rs []rune) uint64 {
	for _, r := range rs {
		h ^= uint64(r)
		h *= fnvPrime
		h ^= uint64(r) >> 8
		h *= fnvPrime
	}
	return h
}

// featureSpec says which n-grams a message is turned into.
type featureSpec struct {
	wordMax int  // word n-grams 1..wordMax
	charMin int  // character n-grams within words, charMin..charMax
	charMax int  //
	stems   bool // add a light stem of each word as an extra feature
	pairWin int  // unordered pairs of content-word stems at most pairWin apart
	syn     bool // add synonym-group features
}

// stopEN are function words left out of word pairs: pairs are there to
// capture combinations of meaningful words ("card"+"arrive"). "not" and
// "no" stay in: "not"+"arrive" is a different complaint than "arrive".
var stopEN = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("a an the and or but if of to in on at by for with from about as into is are was were be been being am do does did doing have has had having i me my mine we us our you your he him his she her it its they them their this that these those there here what which who whom whose when where why how can could would should will shall may might must so than too very just also please thanks hi hello hey <num> get got") {
		m[w] = true
	}
	return m
}()

// hashes appends the feature hashes of tokens to dst (unsorted, with
// repeats: repeats are term frequencies).
func (fs *featureSpec) hashes(dst []uint64, toks []string, runes []rune) ([]uint64, []rune) {
	if fs.pairWin > 0 {
		var cbuf [64]string
		content := cbuf[:0]
		for _, t := range toks {
			if !stopEN[t] && len(content) < 64 {
				if c, ok := synonyms[t]; ok && fs.syn {
					content = append(content, c)
				} else {
					content = append(content, stem(t))
				}
			}
		}
		for i, a := range content {
			for j := i + 1; j < len(content) && j <= i+fs.pairWin; j++ {
				b := content[j]
				if a == b {
					continue
				}
				x, z := a, b
				if z < x {
					x, z = z, x
				}
				h := hashString(hashString(hashString(fnvOffset^0x7a17, x), "|"), z)
				dst = append(dst, h&^blockMask|pairBit)
			}
		}
	}
	// Hashes are chained rather than built from concatenated strings so
	// that featurising allocates nothing.
	prev := uint64(0)
	for i, t := range toks {
		h := hashString(fnvOffset, t)
		dst = append(dst, h&^blockMask)
		if fs.wordMax >= 2 && i > 0 {
			dst = append(dst, hashString(hashString(prev^0x9e3779b97f4a7c15, " "), t)&^blockMask)
		}
		if fs.wordMax >= 3 && i > 1 {
			g := hashString(hashString(fnvOffset^0x51ab, toks[i-2]), " ")
			g = hashString(hashString(hashString(g, toks[i-1]), " "), t)
			dst = append(dst, g&^blockMask)
		}
		prev = h
		if fs.syn {
			if c, ok := synonyms[t]; ok {
				dst = append(dst, hashString(fnvOffset^0x3333, c)&^blockMask)
			}
		}
		if fs.stems {
			if s := stem(t); len(s) != len(t) {
				dst = append(dst, hashString(fnvOffset^0x5555, s)&^blockMask)
			}
		}
		if t[0] == '<' || fs.charMax == 0 { // placeholders: the word is enough
			continue
		}
		runes = runes[:0]
		runes = append(runes, ' ')
		for _, r := range t {
			runes = append(runes, r)
		}
		runes = append(runes, ' ')
		for n := fs.charMin; n <= fs.charMax; n++ {
			if n > len(runes) {
				break
			}
			for o := 0; o+n <= len(runes); o++ {
				dst = append(dst, hashRunes(fnvOffset+uint64(n), runes[o:o+n])&^blockMask|charBit)
			}
		}
	}
	return dst, runes
}

// stem is a deliberately light English suffix stripper: it only has to
// make "cards"/"card", "charged"/"charge", "topping"/"top" share a feature.
func stem(w string) string {
	n := len(w)
	if n <= 3 || !utf8.ValidString(w) {
		return w
	}
	switch {
	case n > 5 && w[n-3:] == "ing":
		w = w[:n-3]
		if len(w) > 2 && w[len(w)-1] == w[len(w)-2] {
			w = w[:len(w)-1]
		}
		return w
	case n > 4 && w[n-3:] == "ied": // carried -> carri, like carries
		return w[:n-2]
	case n > 4 && w[n-2:] == "ed":
		w = w[:n-2]
		if len(w) > 2 && w[len(w)-1] == w[len(w)-2] {
			w = w[:len(w)-1]
		}
		return w
	case n > 4 && w[n-3:] == "ies":
		return w[:n-2]
	case n > 4 && (w[n-4:] == "sses" || w[n-4:] == "ches" || w[n-4:] == "shes") || n > 3 && w[n-3:] == "xes":
		return w[:n-2]
	case w[n-1] == 's' && w[n-2] != 's' && w[n-2] != 'u' && w[n-2] != 'i':
		return w[:n-1]
	case n > 5 && w[n-2:] == "ly":
		return w[:n-2]
	}
	return w
}

// vectorizer turns feature hashes into L2-normalised TF-IDF vectors over a
// fixed vocabulary. Features outside the vocabulary have no weight but
// still count towards the norm (with the largest idf): a message made
// mostly of unknown n-grams gets small values for the ones it shares with
// the training data, which lowers its scores, which is what we want.
type vectorizer struct {
	vocab   map[uint64]int32
	idf     []float32
	block   []uint8
	unkIDF  float32
	weights [nBlocks]float32
}

type featVal struct {
	idx int32
	val float32
}

// vectorize sorts hs in place and appends the sparse vector to dst.
// Unknown features contribute to the norm only. It also returns the
// coverage: the share of the vector's squared mass on known features.
func (v *vectorizer) vectorize(dst []featVal, hs []uint64) ([]featVal, float64) {
	slices.Sort(hs)
	var norm, unk [nBlocks]float64
	start := len(dst)
	for i := 0; i < len(hs); {
		j := i + 1
		for j < len(hs) && hs[j] == hs[i] {
			j++
		}
		tf := 1 + math.Log(float64(j-i))
		b := blockOf(hs[i])
		if idx, ok := v.vocab[hs[i]]; ok {
			x := tf * float64(v.idf[idx])
			norm[b] += x * x
			dst = append(dst, featVal{idx, float32(x)})
		} else {
			x := tf * float64(v.unkIDF)
			norm[b] += x * x
			unk[b] += x * x
		}
		i = j
	}
	var scale [nBlocks]float32
	total, unknown := 0.0, 0.0
	for b := range scale {
		if norm[b] > 0 {
			scale[b] = v.weights[b] / float32(math.Sqrt(norm[b]))
			w2 := float64(v.weights[b]) * float64(v.weights[b])
			total += w2
			unknown += w2 * unk[b] / norm[b]
		}
	}
	for k := start; k < len(dst); k++ {
		dst[k].val *= scale[v.block[dst[k].idx]]
	}
	if total == 0 {
		return dst, 0
	}
	return dst, 1 - unknown/total
}
