package intents

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// fixedClassifier answers from a table.
type fixedClassifier map[string]bot.Prediction

func (f fixedClassifier) Classify(_ context.Context, text string) (bot.Prediction, error) {
	return f[text], nil
}

func TestReadCSVReadsHeaderInAnyOrder(t *testing.T) {
	rows, err := ReadCSV(strings.NewReader("category,text\nship,\"how long, roughly?\"\npay,paypal?\nx,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0] != (Example{"how long, roughly?", "ship"}) || rows[1].Label != "pay" {
		t.Errorf("rows = %+v", rows)
	}
}

func TestReadCSVRejectsMissingColumns(t *testing.T) {
	for _, in := range []string{"", "text\nhello\n", "foo,bar\n1,2\n"} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("ReadCSV(%q) succeeded, want error", in)
		}
	}
}

func TestEvaluateComputesMetrics(t *testing.T) {
	p := func(intent string, v bot.Verdict, c float64) bot.Prediction {
		return bot.Prediction{Intent: intent, Verdict: v, Confidence: c}
	}
	clf := fixedClassifier{
		"a1": p("a", bot.Confident, 0.9),
		"a2": p("a", bot.Confident, 0.9),
		"a3": p("b", bot.Unsure, 0.5), // a mistaken for b
		"b1": p("b", bot.Confident, 0.9),
		"b2": p("b", bot.Unknown, 0.1), // rejected: wrong in-scope, still closed-set right
		"o1": p("a", bot.Unknown, 0.1), // oos caught
		"o2": p("b", bot.Unsure, 0.45), // oos missed (Unsure is not oos)
	}
	rows := []Example{{"a1", "a"}, {"a2", "a"}, {"a3", "a"}, {"b1", "b"}, {"b2", "b"}, {"o1", OOSLabel}, {"o2", OOSLabel}}
	rep, err := Evaluate(context.Background(), clf, rows)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.4f, want %.4f", name, got, want)
		}
	}
	near("Accuracy", rep.Accuracy, 4.0/7)
	near("ClosedSetAccuracy", rep.ClosedSetAccuracy, 4.0/5)
	near("InScopeAccuracy", rep.InScopeAccuracy, 3.0/5)
	near("OOSRecall", rep.OOSRecall, 1.0/2)
	near("OOSPrecision", rep.OOSPrecision, 1.0/2)
	near("OOSRecallUnsure", rep.OOSRecallUnsure, 1.0)
	near("ConfidentAccuracy", rep.ConfidentAccuracy, 1.0)
	// F1: a p=2/2 r=2/3 -> 0.8; b p=1/3 r=1/2 -> 0.4; oos p=1/2 r=1/2 -> 0.5.
	near("MacroF1", rep.MacroF1, (0.8+0.4+0.5)/3)
	if rep.OOSRows != 2 || rep.Verdicts["unknown"] != 2 || rep.Verdicts["confident"] != 3 {
		t.Errorf("OOSRows %d verdicts %v", rep.OOSRows, rep.Verdicts)
	}
	if len(rep.TopConfusions) != 1 || rep.TopConfusions[0] != (Confusion{"a", "b", 1}) {
		t.Errorf("TopConfusions = %v, want [a->b 1]", rep.TopConfusions)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), "oos recall") || !strings.Contains(b.String(), "a -> b: 1") {
		t.Errorf("WriteText = %q, %v", b.String(), err)
	}
}

func TestEvaluateWithoutOOSRowsIsTopOneAccuracy(t *testing.T) {
	clf := fixedClassifier{"x": {Intent: "a", Verdict: bot.Unknown}, "y": {Intent: "a", Verdict: bot.Confident}}
	rep, err := Evaluate(context.Background(), clf, []Example{{"x", "a"}, {"y", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy != 0.5 || rep.OOSRecall != 0 || rep.OOSRows != 0 {
		t.Errorf("Accuracy %.2f OOSRecall %.2f OOSRows %d, want 0.5 0 0", rep.Accuracy, rep.OOSRecall, rep.OOSRows)
	}
}

func TestHoldoutOOSReportsOutOfScopeFigures(t *testing.T) {
	var rows []Example
	for _, tp := range shopTopics(t) {
		for _, q := range tp.Questions {
			rows = append(rows, Example{q, tp.ID})
		}
	}
	rep, err := HoldoutOOS(context.Background(), rows, 0.3, 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OOSRows == 0 || rep.Rows <= rep.OOSRows {
		t.Errorf("Rows %d OOSRows %d: want both in-scope and out-of-scope rows", rep.Rows, rep.OOSRows)
	}
	if rep.TrainMillis <= 0 {
		t.Errorf("TrainMillis = %v", rep.TrainMillis)
	}
	if _, err := HoldoutOOS(context.Background(), rows, 1.5, 1, Config{}); err == nil {
		t.Error("HoldoutOOS accepted a fraction of 1.5")
	}
}

func TestSweepRecomputesFiguresPerThreshold(t *testing.T) {
	rep := Report{Outcomes: []Outcome{
		{Label: "a", Intent: "a", Confidence: 0.9},
		{Label: "a", Intent: "b", Confidence: 0.5},
		{Label: OOSLabel, Intent: "a", Confidence: 0.3},
		{Label: OOSLabel, Intent: "b", Confidence: 0.6},
	}}
	rows := rep.Sweep([]float64{0.4, 0.7})
	want := []SweepRow{
		{Threshold: 0.4, InScopeAccuracy: 0.5, OOSRecall: 0.5, OOSPrecision: 1, ConfidentShare: 1, ConfidentAccuracy: 0.5},
		{Threshold: 0.7, InScopeAccuracy: 0.5, OOSRecall: 1, OOSPrecision: 2.0 / 3, ConfidentShare: 0.5, ConfidentAccuracy: 1},
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	var b strings.Builder
	if err := WriteSweep(&b, rows); err != nil || strings.Count(b.String(), "\n") != 3 {
		t.Errorf("WriteSweep = %q, %v", b.String(), err)
	}
}
