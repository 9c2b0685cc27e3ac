package intents

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// shopTopics loads the small shop FAQ fixture.
func shopTopics(tb testing.TB) []bot.Topic {
	tb.Helper()
	b, err := os.ReadFile("testdata/shop_faq.json")
	if err != nil {
		tb.Fatal(err)
	}
	var topics []bot.Topic
	if err := json.Unmarshal(b, &topics); err != nil {
		tb.Fatal(err)
	}
	return topics
}

var (
	shopOnce   sync.Once
	shopRouter *Router
	shopErr    error
)

func shop(tb testing.TB) *Router {
	tb.Helper()
	topics := shopTopics(tb)
	shopOnce.Do(func() { shopRouter, shopErr = New(topics, Config{}) })
	if shopErr != nil {
		tb.Fatal(shopErr)
	}
	return shopRouter
}

func classify(t *testing.T, r *Router, text string) bot.Prediction {
	t.Helper()
	p, err := r.Classify(context.Background(), text)
	if err != nil {
		t.Fatalf("Classify(%q): %v", text, err)
	}
	return p
}

func TestClassifyRoutesPhrasingVariantsToTheirTopic(t *testing.T) {
	r := shop(t)
	long := "how long does shipping take? " + strings.Repeat("I really need to know because it is a present for my sister. ", 200)
	tests := []struct {
		name, text, want string
	}{
		{"plain", "where is my order", "track_order"},
		{"typos", "wher is my ordr", "track_order"},
		{"upper case", "WHERE IS MY ORDER", "track_order"},
		{"contraction", "where's my order?", "track_order"},
		{"curly apostrophe and full-width letters", "Where’s my ｏｒｄｅｒ", "track_order"},
		{"bare contraction", "i cant cancel my order", "cancel_order"},
		{"punctuation noise", "...where is my order???!!!", "track_order"},
		{"greeting then question", "hi there, how long does shipping take?", "shipping_time"},
		{"greeting then question no comma", "hello how long does delivery take", "shipping_time"},
		{"question then thanks", "can I pay with paypal? thanks so much", "payment_methods"},
		{"greeting alone", "hi", "greeting"},
		{"greeting alone with punctuation", "Hello!!", "greeting"},
		{"one word", "refund", "returns"},
		{"very long message", long, "shipping_time"},
		{"order number with order words", "where is order #A1234?", "track_order"},
		{"other order number", "where is order #Z98765?", "track_order"},
		{"order number alone", "#A1234", "track_order"},
		{"agent request", "can i talk to a human please", "human"},
		{"accents", "café opening hours?", "opening_hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := classify(t, r, tt.text)
			if p.Intent != tt.want {
				t.Errorf("Classify(%.60q) = %q (%.2f %v), want %q; alternatives %v", tt.text, p.Intent, p.Confidence, p.Verdict, tt.want, p.Alternatives)
			}
		})
	}
}

func TestClassifyOrderNumberGoesToTrackingWhateverTheNumber(t *testing.T) {
	r := shop(t)
	for _, text := range []string{"where is order #A1234?", "where is order #B7", "status of ORD-5512", "where is order 100234", "any news on a99999"} {
		p := classify(t, r, text)
		if p.Intent != "track_order" || p.Verdict != bot.Confident {
			t.Errorf("Classify(%q) = %q %v, want track_order confident", text, p.Intent, p.Verdict)
		}
	}
	// Confidently about something else: the number does not override it.
	p := classify(t, r, "I want to return order #A1234, how do I get a refund")
	if p.Intent != "returns" {
		t.Errorf("return with an order number routed to %q, want returns", p.Intent)
	}
}

func TestClassifyEmptyInputIsUnknown(t *testing.T) {
	r := shop(t)
	for _, text := range []string{"", " ", "\n\t ", "?!", "...", "\u200b"} {
		p := classify(t, r, text)
		if p.Verdict != bot.Unknown || p.Intent != "" {
			t.Errorf("Classify(%q) = %q %v, want Unknown with no intent", text, p.Intent, p.Verdict)
		}
	}
}

func TestClassifyNonsenseIsNotConfident(t *testing.T) {
	r := shop(t)
	for _, text := range []string{"purple monkey dishwasher quantum", "zxqv blorp fnord", "the mitochondria is the powerhouse of the cell"} {
		p := classify(t, r, text)
		if p.Verdict == bot.Confident {
			t.Errorf("Classify(%q) = %q confident (%.2f), want unsure or unknown", text, p.Intent, p.Confidence)
		}
	}
}

func TestClassifyFillsEntitiesAndLanguage(t *testing.T) {
	r := shop(t)
	p := classify(t, r, "Wo ist meine Bestellung #A1234? Meine E-Mail ist Max@Example.de")
	if p.Language != "de" {
		t.Errorf("Language = %q, want de", p.Language)
	}
	if len(p.Entities.OrderNumbers) != 1 || p.Entities.OrderNumbers[0] != "A1234" {
		t.Errorf("OrderNumbers = %v, want [A1234]", p.Entities.OrderNumbers)
	}
	if len(p.Entities.Emails) != 1 || p.Entities.Emails[0] != "max@example.de" {
		t.Errorf("Emails = %v, want [max@example.de]", p.Entities.Emails)
	}
	if p := classify(t, r, "thx"); p.Language != "en" {
		t.Errorf("Language(thx) = %q, want en", p.Language)
	}
}

func TestClassifyAlternativesAreRankedProbabilities(t *testing.T) {
	r := shop(t)
	for _, text := range []string{"where is my order", "how do I pay", "purple monkey", "cancel", "size of the shoes for delivery"} {
		p := classify(t, r, text)
		if len(p.Alternatives) == 0 || len(p.Alternatives) > 3 {
			t.Fatalf("%q: %d alternatives, want 1-3", text, len(p.Alternatives))
		}
		if p.Alternatives[0].Intent != p.Intent || p.Alternatives[0].Confidence != p.Confidence {
			t.Errorf("%q: first alternative %v is not the prediction %q %.3f", text, p.Alternatives[0], p.Intent, p.Confidence)
		}
		sum := 0.0
		for i, a := range p.Alternatives {
			if a.Confidence < 0 || a.Confidence > 1 {
				t.Errorf("%q: confidence %v out of [0,1]", text, a.Confidence)
			}
			if i > 0 && a.Confidence > p.Alternatives[i-1].Confidence {
				t.Errorf("%q: alternatives not best first: %v", text, p.Alternatives)
			}
			sum += a.Confidence
		}
		if sum > 1+1e-9 {
			t.Errorf("%q: alternatives sum to %.3f > 1", text, sum)
		}
	}
}

func TestClassifyHeldOutParaphrasesWithMeaningfulConfidence(t *testing.T) {
	r := shop(t)
	rows, err := ReadCSVFile("testdata/shop_heldout.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(context.Background(), r, rows)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy < 0.85 {
		t.Errorf("held-out accuracy %.3f < 0.85; confusions %v", rep.Accuracy, rep.TopConfusions)
	}
	// Calibration sanity: confidence of right answers is higher on average
	// than that of nonsense, and confident answers are mostly right.
	right := 0.0
	for _, o := range rep.Outcomes {
		right += o.Confidence
	}
	right /= float64(len(rep.Outcomes))
	nonsense := classify(t, r, "purple monkey dishwasher quantum").Confidence
	if right <= nonsense+0.2 {
		t.Errorf("mean confidence on paraphrases %.2f not clearly above nonsense %.2f", right, nonsense)
	}
	if rep.ConfidentAccuracy < 0.9 {
		t.Errorf("confident answers right %.2f of the time, want >= 0.9", rep.ConfidentAccuracy)
	}
}

func TestCalibratorFitsProbabilities(t *testing.T) {
	// Synthetic scores where P(correct) rises with the score: the fitted
	// curve must be increasing and close to the empirical rates.
	var s []calSample
	for i := range 2000 {
		score := float64(i%100)/50 - 1 // -1..1
		p := sigmoid(3 * score)
		correct := float64((i*7919)%1000)/1000 < p
		s = append(s, calSample{score: score, coverage: 1, correct: correct})
	}
	c := fitCalibrator(s)
	lo, mid, hi := c.prob(-0.8, 0, 1), c.prob(0, 0, 1), c.prob(0.8, 0, 1)
	if !(lo < mid && mid < hi) {
		t.Fatalf("calibrator not increasing: %.2f %.2f %.2f (%+v)", lo, mid, hi, c)
	}
	if d := mid - 0.5; d < -0.1 || d > 0.1 {
		t.Errorf("prob at score 0 = %.2f, want about 0.5", mid)
	}
	if hi < 0.8 || lo > 0.2 {
		t.Errorf("prob at ±0.8 = %.2f / %.2f, want about 0.92 / 0.08", hi, lo)
	}
	// Perfectly separable samples must still give a finite calibrator.
	sep := []calSample{{1, 1, 1, true}, {1.2, 0.5, 0.9, true}, {-1, -1, 0.5, false}, {-0.5, -0.3, 0.8, false}, {0.9, 0.8, 1, true}}
	c = fitCalibrator(sep)
	if p := c.prob(1, 1, 1); !(p > 0.5 && p <= 1) {
		t.Errorf("separable fit gives prob %.3f for a clear hit (%+v)", p, c)
	}
}

func TestClassifyIsSafeConcurrently(t *testing.T) {
	r := shop(t)
	texts := []string{"where is my order #A1234", "hi there, how long does shipping take?", "purple monkey", "refund please", "", "Wo ist meine Bestellung?"}
	want := make([]bot.Prediction, len(texts))
	for i, text := range texts {
		want[i] = classify(t, r, text)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % len(texts)
				p, err := r.Classify(context.Background(), texts[k])
				if err != nil || p.Intent != want[k].Intent || p.Confidence != want[k].Confidence {
					select {
					case errs <- texts[k]:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for text := range errs {
		t.Errorf("concurrent Classify(%q) differs from sequential", text)
	}
}

func TestClassifyHonoursCancelledContext(t *testing.T) {
	r := shop(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Classify(ctx, "where is my order"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestNewRejectsUnusableTopics(t *testing.T) {
	tests := []struct {
		name   string
		topics []bot.Topic
		want   string
	}{
		{"no topics", nil, "no topics"},
		{"topic without questions", []bot.Topic{{ID: "a", Questions: []string{"hello"}}, {ID: "b"}}, `topic "b" has no questions`},
		{"only blank questions", []bot.Topic{{ID: "a", Questions: []string{" ", "?"}}}, `topic "a" has no questions`},
		{"duplicate id", []bot.Topic{{ID: "a", Questions: []string{"x"}}, {ID: "a", Questions: []string{"y"}}}, "duplicate"},
		{"empty id", []bot.Topic{{Questions: []string{"x"}}}, "empty ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.topics, Config{})
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "intents: train: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want intents: train: ...%s", err, tt.want)
			}
		})
	}
	if _, err := New(nil, Config{}); !errors.Is(err, ErrNoTopics) {
		t.Errorf("New(nil) error %v does not wrap ErrNoTopics", err)
	}
}

func TestNewWorksWithOneQuestionPerTopic(t *testing.T) {
	r, err := New([]bot.Topic{{ID: "ship", Questions: []string{"how long does shipping take"}}, {ID: "pay", Questions: []string{"can I pay with paypal"}}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if p := classify(t, r, "shipping time?"); p.Intent != "ship" {
		t.Errorf("got %q, want ship", p.Intent)
	}
}

func TestConfigZeroValueGetsDefaults(t *testing.T) {
	c := shop(t).Config()
	if c.ConfidentThreshold != DefaultConfident || c.UnknownThreshold != DefaultUnknown || c.C != 1 || c.Folds != 5 || c.Seed != 1 {
		t.Errorf("defaults not applied: %+v", c)
	}
	if !(DefaultUnknown < DefaultConfident) {
		t.Errorf("DefaultUnknown %v >= DefaultConfident %v", DefaultUnknown, DefaultConfident)
	}
}

func TestTrainingIsDeterministic(t *testing.T) {
	a, err := New(shopTopics(t), Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(shopTopics(t), Config{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"where is my order", "size", "purple monkey"} {
		pa, pb := classify(t, a, text), classify(t, b, text)
		if pa.Intent != pb.Intent || pa.Confidence != pb.Confidence {
			t.Errorf("%q: %q %.4f vs %q %.4f", text, pa.Intent, pa.Confidence, pb.Intent, pb.Confidence)
		}
	}
}
