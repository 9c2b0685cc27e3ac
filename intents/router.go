package intents

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Default verdict thresholds on the calibrated confidence. They were chosen
// on training data only: BANKING77 train.csv and train_10.csv, each with a
// quarter of its intents held out as out of scope and a fifth of the rest
// as in-scope test questions, three seeds ("frontdesk eval --holdout-oos
// 0.25 --sweep"); see RESULTS.md for the procedure and the figures.
const (
	// DefaultConfident: at or above it the bot answers with the top intent.
	// It is the lowest value at which cross-validated confident answers
	// were right at least 95% of the time with full training data and 90%
	// with ten questions per topic.
	DefaultConfident = 0.55
	// DefaultUnknown: below it the message is treated as out of scope. It
	// is the highest value that cost in-scope questions at most two points
	// of accuracy with full training data while catching the most
	// out-of-scope ones.
	DefaultUnknown = 0.40
)

// Config tunes a Router. The zero value is the recommended setting.
type Config struct {
	// ConfidentThreshold is the calibrated confidence at or above which the
	// verdict is Confident. Default: DefaultConfident.
	ConfidentThreshold float64
	// UnknownThreshold is the calibrated confidence below which the verdict
	// is Unknown; in between it is Unsure. Default: DefaultUnknown.
	UnknownThreshold float64
	// C is the SVM regularisation constant: larger fits the training
	// questions more tightly. Default: 1.
	C float64
	// WordNgrams is the longest word n-gram used. Default: 2 (words and
	// word pairs).
	WordNgrams int
	// CharMin and CharMax bound the character n-grams taken inside each
	// word, which make the router tolerant of typos. Default: 2 and 5.
	// Set NoCharNgrams to switch them off.
	CharMin, CharMax int
	// NoCharNgrams disables character n-grams. Default: false (enabled).
	NoCharNgrams bool
	// CharWeight scales the character n-gram block against the word block
	// (each is L2-normalised first). Default: 1.
	CharWeight float64
	// PairWindow is how far apart (in content words) two words of a
	// message may be to form a pair feature. Pairs let a linear model see
	// combinations ("card"+"arrive" anywhere in the message); they gave the
	// largest gain in cross-validation. Default: 30 (the whole message of
	// most questions); negative disables pairs.
	PairWindow int
	// PairWeight scales the pair block against the word block. Default: 0.85.
	PairWeight float64
	// NoSynonyms disables the built-in synonym-group features. Default:
	// false (enabled).
	NoSynonyms bool
	// NoStems disables the light-stem features. Default: false (enabled).
	NoStems bool
	// Folds is the number of cross-validation folds used to calibrate
	// confidence. Default: 5; above 3,000 questions only the first fold is
	// held out (a fifth of the questions is plenty to fit the calibrator's
	// four parameters, and it keeps training to a few seconds). Topics with a single question are never held
	// out; with no topic having two questions a built-in calibration is used.
	Folds int
	// Seed makes training deterministic. Default: 1.
	Seed uint64
}

func (c Config) withDefaults() Config {
	if c.ConfidentThreshold == 0 {
		c.ConfidentThreshold = DefaultConfident
	}
	if c.UnknownThreshold == 0 {
		c.UnknownThreshold = DefaultUnknown
	}
	if c.C == 0 {
		c.C = 1
	}
	if c.WordNgrams == 0 {
		c.WordNgrams = 2
	}
	if c.CharMin == 0 {
		c.CharMin = 2
	}
	if c.CharMax == 0 {
		c.CharMax = 5
	}
	if c.PairWindow == 0 {
		c.PairWindow = 30
	}
	if c.PairWeight == 0 {
		c.PairWeight = 0.85
	}
	if c.CharWeight == 0 {
		c.CharWeight = 1
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	return c
}

// Router is the intent classifier the bot serves: TF-IDF word and
// character n-grams, one-vs-rest linear SVMs, and confidence calibrated by
// cross-validation. It is immutable after New and safe for concurrent use.
type Router struct {
	cfg      Config
	ids      []string
	trackIdx int // index of the ActionTrackOrder topic, or -1
	spec     featureSpec
	vec      vectorizer
	model    *linearModel
	cal      calibrator
	pool     sync.Pool
}

var _ bot.Classifier = (*Router)(nil)

// ErrNoTopics is returned (wrapped) by New when there is nothing to learn.
var ErrNoTopics = errors.New("no topics")

// New trains a Router on the topics' example questions; each topic's ID is
// the intent it predicts. It fails when there are no topics, a topic has
// no ID or no usable question, or two topics share an ID.
func New(topics []bot.Topic, cfg Config) (*Router, error) {
	return NewContext(context.Background(), topics, cfg)
}

// NewContext is New with cancellation: training the full model takes
// seconds on large topic sets.
func NewContext(ctx context.Context, topics []bot.Topic, cfg Config) (*Router, error) {
	r, err := train(ctx, topics, cfg.withDefaults())
	if err != nil {
		return nil, fmt.Errorf("intents: train: %w", err)
	}
	return r, nil
}

// Topics returns the intents the router knows, in training order.
func (r *Router) Topics() []string { return append([]string(nil), r.ids...) }

// Config returns the configuration in force, defaults filled in.
func (r *Router) Config() Config { return r.cfg }

type scratch struct {
	buf    []byte
	toks   []string
	hs     []uint64
	runes  []rune
	x      []featVal
	scores []float64
	// coverage is the share of the message's features seen in training.
	coverage float64
}

func (r *Router) getScratch() *scratch {
	if s, ok := r.pool.Get().(*scratch); ok {
		return s
	}
	return &scratch{scores: make([]float64, len(r.ids))}
}

// featurize turns text into its sparse vector in s.x; it returns false when
// the text has no words at all.
func (r *Router) featurize(s *scratch, text string) bool {
	s.buf = fold(s.buf[:0], text)
	s.toks = tokenize(s.toks[:0], string(s.buf))
	s.toks = stripPleasantries(s.toks)
	if len(s.toks) == 0 {
		s.x = s.x[:0]
		return false
	}
	s.hs, s.runes = r.spec.hashes(s.hs[:0], s.toks, s.runes)
	s.x, s.coverage = r.vec.vectorize(s.x[:0], s.hs)
	return true
}

// Classify predicts the intent of one customer message. It never fails on
// any input; the error is for a cancelled context.
func (r *Router) Classify(ctx context.Context, text string) (bot.Prediction, error) {
	if err := ctx.Err(); err != nil {
		return bot.Prediction{}, err
	}
	p := bot.Prediction{Verdict: bot.Unknown}
	if strings.TrimSpace(text) == "" {
		return p, nil
	}
	p.Entities = ExtractEntities(text)
	p.Language = DetectLanguage(text)
	s := r.getScratch()
	defer r.pool.Put(s)
	if !r.featurize(s, text) || len(s.x) == 0 {
		// Nothing we have seen before (or only punctuation): an order
		// number alone still means "track my order".
		r.orderRule(&p)
		return p, nil
	}
	r.model.score(s.scores, s.x)
	top := topN(s.scores, 3)
	p.Alternatives = make([]bot.Scored, 0, len(top))
	total := 0.0
	for i, k := range top {
		other := s.scores[top[0]]
		if i == 0 {
			other = math.Inf(-1)
			if len(top) > 1 {
				other = s.scores[top[1]]
			}
		}
		margin := s.scores[k] - other
		if math.IsInf(margin, 0) {
			margin = 1
		}
		c := r.cal.prob(s.scores[k], margin, s.coverage)
		total += c
		p.Alternatives = append(p.Alternatives, bot.Scored{Intent: r.ids[k], Confidence: c})
	}
	// Candidates are calibrated one by one; keep them a distribution.
	if total > 1 {
		for i := range p.Alternatives {
			p.Alternatives[i].Confidence /= total
		}
	}
	p.Intent = p.Alternatives[0].Intent
	p.Confidence = p.Alternatives[0].Confidence
	p.Verdict = r.verdict(p.Confidence)
	r.orderRule(&p)
	return p, nil
}

func (r *Router) verdict(c float64) bot.Verdict {
	switch {
	case c >= r.cfg.ConfidentThreshold:
		return bot.Confident
	case c < r.cfg.UnknownThreshold:
		return bot.Unknown
	}
	return bot.Unsure
}

// orderRule sends a message that carries an order number to the order
// tracking topic unless the classifier is confident it is about something
// else ("I want to return order #A1234" stays a return). The number itself
// was replaced by a placeholder before featurising, so which number it is
// never matters.
func (r *Router) orderRule(p *bot.Prediction) {
	if r.trackIdx < 0 || len(p.Entities.OrderNumbers) == 0 || p.Verdict == bot.Confident {
		return
	}
	track := r.ids[r.trackIdx]
	alts := []bot.Scored{{Intent: track, Confidence: max(p.Confidence, r.cfg.ConfidentThreshold)}}
	for _, a := range p.Alternatives {
		if a.Intent != track && len(alts) < 3 {
			alts = append(alts, a)
		}
	}
	p.Alternatives = alts
	p.Intent = track
	p.Confidence = alts[0].Confidence
	p.Verdict = bot.Confident
}

// topN returns the indices of the n largest scores, best first.
func topN(scores []float64, n int) []int {
	n = min(n, len(scores))
	var idx [8]int
	top := idx[:0]
	for k, s := range scores {
		if len(top) < n {
			top = append(top, k)
		} else if s > scores[top[n-1]] {
			top[n-1] = k
		} else {
			continue
		}
		for i := len(top) - 1; i > 0 && scores[top[i]] > scores[top[i-1]]; i-- {
			top[i], top[i-1] = top[i-1], top[i]
		}
	}
	return append([]int(nil), top...)
}

// train builds the router: vocabulary and idf from all questions, SVMs,
// and a calibrator fitted on cross-validated scores.
func train(ctx context.Context, topics []bot.Topic, cfg Config) (*Router, error) {
	if len(topics) == 0 {
		return nil, ErrNoTopics
	}
	r := &Router{cfg: cfg, trackIdx: -1}
	r.spec = featureSpec{wordMax: cfg.WordNgrams, charMin: cfg.CharMin, charMax: cfg.CharMax, stems: !cfg.NoStems, pairWin: max(cfg.PairWindow, 0), syn: !cfg.NoSynonyms}
	if cfg.NoCharNgrams {
		r.spec.charMax = 0
	}
	seen := map[string]bool{}
	var docs [][]uint64
	var y []int32
	s := &scratch{}
	for _, t := range topics {
		if t.ID == "" {
			return nil, errors.New("topic with empty ID")
		}
		if seen[t.ID] {
			return nil, fmt.Errorf("duplicate topic ID %q", t.ID)
		}
		seen[t.ID] = true
		k := int32(len(r.ids))
		r.ids = append(r.ids, t.ID)
		if t.Action == bot.ActionTrackOrder && r.trackIdx < 0 {
			r.trackIdx = int(k)
		}
		n := 0
		for _, q := range t.Questions {
			s.buf = fold(s.buf[:0], q)
			s.toks = tokenize(s.toks[:0], string(s.buf))
			s.toks = stripPleasantries(s.toks)
			if len(s.toks) == 0 {
				continue
			}
			var hs []uint64
			hs, s.runes = r.spec.hashes(nil, s.toks, s.runes)
			docs = append(docs, hs)
			y = append(y, k)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("topic %q has no questions", t.ID)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Vocabulary and document frequencies.
	r.vec.vocab = map[uint64]int32{}
	var df []int32
	for _, hs := range docs {
		uniq := dedupSorted(hs)
		for _, h := range uniq {
			idx, ok := r.vec.vocab[h]
			if !ok {
				idx = int32(len(df))
				r.vec.vocab[h] = idx
				df = append(df, 0)
				r.vec.block = append(r.vec.block, blockOf(h))
			}
			df[idx]++
		}
	}
	n := float64(len(docs))
	r.vec.idf = make([]float32, len(df))
	for i, d := range df {
		r.vec.idf[i] = float32(math.Log((1+n)/(1+float64(d))) + 1)
	}
	r.vec.unkIDF = float32(math.Log(1+n) + 1)
	r.vec.weights = [nBlocks]float32{1, float32(cfg.PairWeight), float32(cfg.CharWeight)}
	if cfg.NoCharNgrams {
		r.vec.weights[blockChar] = 0
	}
	X := &csr{ptr: []int32{0}}
	var row []featVal
	for _, hs := range docs {
		row, _ = r.vec.vectorize(row[:0], hs)
		X.appendRow(row)
	}
	D := len(df)
	K := len(r.ids)
	p := svmParams{C: cfg.C, eps: 0.1, maxIter: 1000, bias: 1, balanced: true, seed: cfg.Seed}

	rounds := cfg.Folds
	if cfg.Folds == 0 {
		cfg.Folds, rounds = 5, 5
		if len(docs) > 3000 {
			rounds = 1
		}
		r.cfg.Folds = cfg.Folds
	}
	cal, err := crossCalibrate(ctx, X, y, K, D, p, cfg, rounds)
	if err != nil {
		return nil, err
	}
	r.cal = cal
	r.model, err = trainOVR(ctx, X, y, nil, K, D, p)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// dedupSorted sorts hs in place and returns its distinct values (a prefix
// of a copy, leaving the term counts in hs intact).
func dedupSorted(hs []uint64) []uint64 {
	c := append([]uint64(nil), hs...)
	slices.Sort(c)
	out := c[:0]
	for i, h := range c {
		if i == 0 || h != c[i-1] {
			out = append(out, h)
		}
	}
	return out
}

// stratifiedFolds assigns each row a fold in [0,k), spreading every class
// evenly; rows of classes with a single example get -1 (always trained on).
func stratifiedFolds(y []int32, K, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	byClass := make([][]int, K)
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	fold := make([]int, len(y))
	off := 0
	for _, rows := range byClass {
		if len(rows) < 2 {
			for _, i := range rows {
				fold[i] = -1
			}
			continue
		}
		rng.Shuffle(len(rows), func(a, b int) { rows[a], rows[b] = rows[b], rows[a] })
		for j, i := range rows {
			fold[i] = (off + j) % k
		}
		off += len(rows)
	}
	return fold
}

// crossCalibrate trains on k-1 folds, scores the held-out fold, and fits
// the calibrator on the top three candidates of every held-out question.
// Only the first rounds folds are held out in turn.
func crossCalibrate(ctx context.Context, X *csr, y []int32, K, D int, p svmParams, cfg Config, rounds int) (calibrator, error) {
	k := cfg.Folds
	if k < 2 {
		return defaultCalibrator, nil
	}
	fold := stratifiedFolds(y, K, k, cfg.Seed)
	seen := make([]bool, D)
	var samples []calSample
	scores := make([]float64, K)
	var row []featVal
	for f := range min(rounds, k) {
		var tr, te []int32
		for i, fi := range fold {
			if fi == f {
				te = append(te, int32(i))
			} else {
				tr = append(tr, int32(i))
			}
		}
		if len(te) == 0 {
			continue
		}
		m, err := trainOVR(ctx, X, y, tr, K, D, p)
		if err != nil {
			return calibrator{}, err
		}
		// Features no training question of this fold has are what unknown
		// words are at serving time: they make up the held-out coverage.
		clear(seen)
		for _, i := range tr {
			for _, f := range X.idx[X.ptr[i]:X.ptr[i+1]] {
				seen[f] = true
			}
		}
		for _, i := range te {
			row = row[:0]
			known, total := 0.0, 0.0
			for t := X.ptr[i]; t < X.ptr[i+1]; t++ {
				v := float64(X.val[t])
				total += v * v
				if seen[X.idx[t]] {
					known += v * v
				}
				row = append(row, featVal{X.idx[t], X.val[t]})
			}
			m.score(scores, row)
			samples = appendCandidates(samples, scores, y[i], known/max(total, 1e-12))
		}
	}
	return fitCalibrator(samples), nil
}

func appendCandidates(dst []calSample, scores []float64, truth int32, coverage float64) []calSample {
	top := topN(scores, 3)
	for i, k := range top {
		other := scores[top[0]]
		if i == 0 {
			other = math.Inf(-1)
			if len(top) > 1 {
				other = scores[top[1]]
			}
		}
		margin := scores[k] - other
		if math.IsInf(margin, 0) {
			margin = 1
		}
		dst = append(dst, calSample{score: scores[k], margin: margin, coverage: coverage, correct: int32(k) == truth})
	}
	return dst
}
