package intents

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// OOSLabel marks test rows that belong to no topic (out of scope), as in
// the CLINC150 data set. A router gets them right by answering Unknown.
const OOSLabel = "oos"

// Example is one labelled message.
type Example struct {
	Text  string // the customer's message
	Label string // its intent, or OOSLabel
}

// ReadCSV reads labelled messages from CSV with a header row naming a
// "text" and a "category" column (in any order; "label" and "intent" are
// accepted for the latter). Rows with an empty text are skipped.
func ReadCSV(r io.Reader) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("intents: csv: empty file")
		}
		return nil, fmt.Errorf("intents: csv: %w", err)
	}
	ti, ci := -1, -1
	for i, h := range head {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "text":
			ti = i
		case "category", "label", "intent":
			ci = i
		}
	}
	if ti < 0 || ci < 0 {
		return nil, fmt.Errorf("intents: csv: header %q lacks text and category columns", head)
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("intents: csv: %w", err)
		}
		if ti >= len(rec) || ci >= len(rec) {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("intents: csv: line %d: too few fields", line)
		}
		if strings.TrimSpace(rec[ti]) == "" {
			continue
		}
		out = append(out, Example{Text: rec[ti], Label: strings.TrimSpace(rec[ci])})
	}
	return out, nil
}

// ReadCSVFile is ReadCSV on a file.
func ReadCSVFile(path string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("intents: %w", err)
	}
	defer f.Close()
	rows, err := ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return rows, nil
}

// TopicsFromExamples makes one topic per label (in order of first
// appearance) whose questions are its rows, as a shop's FAQ would be.
// Rows labelled OOSLabel are left out: out-of-scope is not a topic.
func TopicsFromExamples(rows []Example) []bot.Topic {
	var topics []bot.Topic
	at := map[string]int{}
	for _, r := range rows {
		if r.Label == OOSLabel {
			continue
		}
		i, ok := at[r.Label]
		if !ok {
			i = len(topics)
			at[r.Label] = i
			topics = append(topics, bot.Topic{ID: r.Label, Stage: bot.StageAwareness})
		}
		topics[i].Questions = append(topics[i].Questions, r.Text)
	}
	return topics
}

// Confusion counts test messages of intent Truth predicted as Predicted.
type Confusion struct {
	Truth     string `json:"truth"`     // the row's label
	Predicted string `json:"predicted"` // the router's top intent
	Count     int    `json:"count"`     // how many rows
}

// Outcome is the router's answer for one test row.
type Outcome struct {
	Label      string      // the row's label
	Intent     string      // the predicted top intent
	Confidence float64     // its calibrated confidence
	Verdict    bot.Verdict // the router's verdict
}

// Report holds evaluation figures. A row's predicted label is its top
// intent, except that when the test set has out-of-scope rows a prediction
// whose Verdict is Unknown counts as OOSLabel (Unsure still counts as its
// top intent: the bot then asks, offering the alternatives).
type Report struct {
	Rows int `json:"rows"` // test rows evaluated
	// Accuracy is the share of rows whose predicted label is right. With
	// no out-of-scope rows it is plain top-1 accuracy.
	Accuracy float64 `json:"accuracy"`
	// MacroF1 is the unweighted mean F1 over the test file's labels.
	MacroF1 float64 `json:"macro_f1"`
	// ClosedSetAccuracy is top-1 accuracy on in-scope rows ignoring the
	// verdict, the figure the literature reports.
	ClosedSetAccuracy float64 `json:"closed_set_accuracy"`
	// InScopeAccuracy is accuracy on in-scope rows where rejecting one as
	// Unknown counts wrong (the CLINC150 definition).
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	// OOSRows is the number of out-of-scope rows; the OOS figures are 0
	// without them.
	OOSRows int `json:"oos_rows"`
	// OOSRecall is the share of out-of-scope rows answered Unknown.
	OOSRecall float64 `json:"oos_recall"`
	// OOSPrecision is the share of Unknown answers that were out of scope.
	OOSPrecision float64 `json:"oos_precision"`
	// OOSRecallUnsure is OOSRecall if Unsure also counted as out of scope.
	OOSRecallUnsure float64 `json:"oos_recall_incl_unsure"`
	// Verdicts counts answers per verdict ("confident", "unsure", "unknown").
	Verdicts map[string]int `json:"verdicts"`
	// ConfidentAccuracy is top-1 accuracy among Confident in-scope answers.
	ConfidentAccuracy float64 `json:"confident_accuracy"`
	// ECE is the expected calibration error of Confidence on in-scope rows
	// (10 equal-width bins): 0 means confidence is the chance of being right.
	ECE float64 `json:"ece"`
	// TopConfusions are the ten most frequent mistakes, most frequent first.
	TopConfusions []Confusion `json:"top_confusions"`
	// P50Micros and P99Micros are per-message Classify latencies.
	P50Micros float64 `json:"p50_us"`
	P99Micros float64 `json:"p99_us"` // see P50Micros
	// TrainMillis is the training time, filled in by callers that train.
	TrainMillis float64 `json:"train_ms"`
	// HeapMB is the heap in use after training (after a GC), likewise.
	HeapMB float64 `json:"heap_mb"`
	// Outcomes are the per-row answers, for further analysis.
	Outcomes []Outcome `json:"-"`
}

// Evaluate classifies every row with clf and computes the Report figures.
func Evaluate(ctx context.Context, clf bot.Classifier, rows []Example) (Report, error) {
	rep := Report{Rows: len(rows), Verdicts: map[string]int{}}
	if len(rows) == 0 {
		return rep, errors.New("intents: evaluate: no rows")
	}
	lat := make([]time.Duration, len(rows))
	rep.Outcomes = make([]Outcome, len(rows))
	for i, r := range rows {
		t0 := time.Now()
		p, err := clf.Classify(ctx, r.Text)
		lat[i] = time.Since(t0)
		if err != nil {
			return rep, fmt.Errorf("intents: evaluate: %w", err)
		}
		rep.Outcomes[i] = Outcome{Label: r.Label, Intent: p.Intent, Confidence: p.Confidence, Verdict: p.Verdict}
	}
	slices.Sort(lat)
	rep.P50Micros = micros(lat[len(lat)/2])
	rep.P99Micros = micros(lat[min(len(lat)-1, len(lat)*99/100)])
	rep.score()
	return rep, nil
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// score fills the accuracy figures from Outcomes.
func (rep *Report) score() {
	for _, o := range rep.Outcomes {
		if o.Label == OOSLabel {
			rep.OOSRows++
		}
	}
	hasOOS := rep.OOSRows > 0
	pred := func(o Outcome) string {
		if hasOOS && o.Verdict == bot.Unknown {
			return OOSLabel
		}
		return o.Intent
	}
	tp, fp, fn := map[string]int{}, map[string]int{}, map[string]int{}
	labels := map[string]bool{}
	conf := map[[2]string]int{}
	var right, inScope, inRight, closedRight, unknown, oosUnknown, oosUnsure, confident, confidentRight int
	var bins [10]struct {
		n, right int
		conf     float64
	}
	for _, o := range rep.Outcomes {
		rep.Verdicts[o.Verdict.String()]++
		labels[o.Label] = true
		pl := pred(o)
		if pl == o.Label {
			right++
			tp[o.Label]++
		} else {
			fp[pl]++
			fn[o.Label]++
			if o.Label != OOSLabel && pl != OOSLabel {
				conf[[2]string{o.Label, pl}]++
			}
		}
		if o.Verdict == bot.Unknown {
			unknown++
		}
		if o.Label == OOSLabel {
			if o.Verdict == bot.Unknown {
				oosUnknown++
			}
			if o.Verdict != bot.Confident {
				oosUnsure++
			}
			continue
		}
		inScope++
		if pl == o.Label {
			inRight++
		}
		ok := o.Intent == o.Label
		if ok {
			closedRight++
		}
		if o.Verdict == bot.Confident {
			confident++
			if ok {
				confidentRight++
			}
		}
		b := min(int(o.Confidence*10), 9)
		bins[b].n++
		bins[b].conf += o.Confidence
		if ok {
			bins[b].right++
		}
	}
	rep.Accuracy = ratio(right, len(rep.Outcomes))
	rep.ClosedSetAccuracy = ratio(closedRight, inScope)
	rep.InScopeAccuracy = ratio(inRight, inScope)
	rep.ConfidentAccuracy = ratio(confidentRight, confident)
	if hasOOS {
		rep.OOSRecall = ratio(oosUnknown, rep.OOSRows)
		rep.OOSPrecision = ratio(oosUnknown, unknown)
		rep.OOSRecallUnsure = ratio(oosUnsure, rep.OOSRows)
	}
	for _, b := range bins {
		if b.n > 0 {
			rep.ECE += float64(b.n) / float64(max(inScope, 1)) * math.Abs(b.conf/float64(b.n)-float64(b.right)/float64(b.n))
		}
	}
	f1 := 0.0
	for l := range labels {
		p := ratio(tp[l], tp[l]+fp[l])
		r := ratio(tp[l], tp[l]+fn[l])
		if p+r > 0 {
			f1 += 2 * p * r / (p + r)
		}
	}
	rep.MacroF1 = f1 / float64(max(len(labels), 1))
	for k, n := range conf {
		rep.TopConfusions = append(rep.TopConfusions, Confusion{Truth: k[0], Predicted: k[1], Count: n})
	}
	slices.SortFunc(rep.TopConfusions, func(a, b Confusion) int {
		return cmp.Or(-cmp.Compare(a.Count, b.Count), cmp.Compare(a.Truth, b.Truth), cmp.Compare(a.Predicted, b.Predicted))
	})
	if len(rep.TopConfusions) > 10 {
		rep.TopConfusions = rep.TopConfusions[:10]
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// TrainAndEvaluate trains a Router on train, evaluates it on test, and
// records training time and the heap in use after training.
func TrainAndEvaluate(ctx context.Context, train, test []Example, cfg Config) (Report, *Router, error) {
	t0 := time.Now()
	r, err := NewContext(ctx, TopicsFromExamples(train), cfg)
	if err != nil {
		return Report{}, nil, err
	}
	trainTime := time.Since(t0)
	heap := heapInUseMB()
	rep, err := Evaluate(ctx, r, test)
	rep.TrainMillis = float64(trainTime.Microseconds()) / 1e3
	rep.HeapMB = heap
	return rep, r, err
}

// HoldoutOOS measures out-of-scope detection using a training file alone:
// a fraction frac of its intents (chosen with seed) is set aside as out of
// scope, a fifth of the remaining intents' rows (stratified) is held out
// as in-scope test data, the router is trained on the rest, and the held
// out rows plus every row of the set-aside intents are evaluated.
func HoldoutOOS(ctx context.Context, rows []Example, frac float64, seed uint64, cfg Config) (Report, error) {
	if frac <= 0 || frac >= 1 {
		return Report{}, fmt.Errorf("intents: holdout fraction %v not in (0,1)", frac)
	}
	topics := TopicsFromExamples(rows)
	rng := rand.New(rand.NewPCG(seed, 0x005))
	order := rng.Perm(len(topics))
	nOOS := int(math.Round(frac * float64(len(topics))))
	if nOOS < 1 || nOOS >= len(topics) {
		return Report{}, fmt.Errorf("intents: holdout of %v leaves no in-scope or no out-of-scope intents", frac)
	}
	oos := map[string]bool{}
	for _, i := range order[:nOOS] {
		oos[topics[i].ID] = true
	}
	var train, test []Example
	for _, t := range topics {
		if oos[t.ID] {
			for _, q := range t.Questions {
				test = append(test, Example{Text: q, Label: OOSLabel})
			}
			continue
		}
		qs := slices.Clone(t.Questions)
		rng.Shuffle(len(qs), func(a, b int) { qs[a], qs[b] = qs[b], qs[a] })
		nTest := len(qs) / 5
		for j, q := range qs {
			if j < nTest {
				test = append(test, Example{Text: q, Label: t.ID})
			} else {
				train = append(train, Example{Text: q, Label: t.ID})
			}
		}
	}
	rep, _, err := TrainAndEvaluate(ctx, train, test, cfg)
	return rep, err
}

func heapInUseMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapInuse) / (1 << 20)
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rows            %d\n", rep.Rows)
	fmt.Fprintf(&b, "accuracy        %.2f%%\n", 100*rep.Accuracy)
	fmt.Fprintf(&b, "macro-F1        %.2f%%\n", 100*rep.MacroF1)
	if rep.OOSRows > 0 {
		fmt.Fprintf(&b, "closed-set acc  %.2f%% (in-scope rows, verdict ignored)\n", 100*rep.ClosedSetAccuracy)
		fmt.Fprintf(&b, "in-scope acc    %.2f%% (Unknown counts wrong)\n", 100*rep.InScopeAccuracy)
		fmt.Fprintf(&b, "oos rows        %d\n", rep.OOSRows)
		fmt.Fprintf(&b, "oos recall      %.2f%% (Unknown verdicts; %.2f%% if Unsure also counted)\n", 100*rep.OOSRecall, 100*rep.OOSRecallUnsure)
		fmt.Fprintf(&b, "oos precision   %.2f%%\n", 100*rep.OOSPrecision)
	}
	fmt.Fprintf(&b, "verdicts        confident %d, unsure %d, unknown %d\n", rep.Verdicts["confident"], rep.Verdicts["unsure"], rep.Verdicts["unknown"])
	fmt.Fprintf(&b, "confident acc   %.2f%%\n", 100*rep.ConfidentAccuracy)
	fmt.Fprintf(&b, "calibration ECE %.3f\n", rep.ECE)
	fmt.Fprintf(&b, "latency         p50 %.1f µs, p99 %.1f µs\n", rep.P50Micros, rep.P99Micros)
	fmt.Fprintf(&b, "training        %.0f ms, heap in use %.1f MB\n", rep.TrainMillis, rep.HeapMB)
	if len(rep.TopConfusions) > 0 {
		fmt.Fprintf(&b, "most confused (truth -> predicted: count)\n")
		for _, c := range rep.TopConfusions {
			fmt.Fprintf(&b, "  %s -> %s: %d\n", c.Truth, c.Predicted, c.Count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SweepRow gives the figures a pair of thresholds would have produced on
// a report's outcomes: Unknown below Threshold (for the OOS columns) and
// Confident at or above it (for the Confident columns).
type SweepRow struct {
	Threshold float64 `json:"threshold"` // the threshold tried
	// InScopeAccuracy: in-scope rows right and not rejected as Unknown.
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	// OOSRecall and OOSPrecision: with Unknown below Threshold.
	OOSRecall    float64 `json:"oos_recall"`
	OOSPrecision float64 `json:"oos_precision"` // see OOSRecall
	// ConfidentShare and ConfidentAccuracy: in-scope rows at or above
	// Threshold, and how many of those were right.
	ConfidentShare    float64 `json:"confident_share"`
	ConfidentAccuracy float64 `json:"confident_accuracy"` // see ConfidentShare
}

// Sweep recomputes the verdict-dependent figures for each threshold, from
// the outcomes' confidences. It is how the default thresholds were chosen
// (on cross-validation runs over training data, see HoldoutOOS).
func (rep *Report) Sweep(thresholds []float64) []SweepRow {
	out := make([]SweepRow, 0, len(thresholds))
	for _, th := range thresholds {
		var in, inOK, oos, oosHit, unk, conf, confOK int
		for _, o := range rep.Outcomes {
			rej := o.Confidence < th
			if rej {
				unk++
			}
			if o.Label == OOSLabel {
				oos++
				if rej {
					oosHit++
				}
				continue
			}
			in++
			ok := o.Intent == o.Label
			if !rej && ok {
				inOK++
			}
			if !rej {
				conf++
				if ok {
					confOK++
				}
			}
		}
		out = append(out, SweepRow{
			Threshold: th, InScopeAccuracy: ratio(inOK, in),
			OOSRecall: ratio(oosHit, oos), OOSPrecision: ratio(oosHit, unk),
			ConfidentShare: ratio(conf, in), ConfidentAccuracy: ratio(confOK, conf),
		})
	}
	return out
}

// WriteSweep prints Sweep rows as a table.
func WriteSweep(w io.Writer, rows []SweepRow) error {
	var b strings.Builder
	fmt.Fprintf(&b, "threshold  in-scope-acc  oos-recall  oos-precision  confident-share  confident-acc\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%9.2f  %11.2f%%  %9.2f%%  %12.2f%%  %14.2f%%  %12.2f%%\n", r.Threshold,
			100*r.InScopeAccuracy, 100*r.OOSRecall, 100*r.OOSPrecision, 100*r.ConfidentShare, 100*r.ConfidentAccuracy)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
