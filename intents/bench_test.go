package intents

import (
	"context"
	"os"
	"testing"
	"time"
)

// benchDir holds BANKING77 in a checkout with the shared bench data beside
// the repository (../shared relative to the repository root).
const benchDir = "../../shared/bench/banking77/"

func banking77(tb testing.TB, file string) []Example {
	tb.Helper()
	if _, err := os.Stat(benchDir + file); err != nil {
		return nil
	}
	rows, err := ReadCSVFile(benchDir + file)
	if err != nil {
		tb.Fatal(err)
	}
	return rows
}

func BenchmarkClassify(b *testing.B) {
	r := shop(b)
	texts := []string{"where is my order #A1234?", "hi there, how long does shipping take?", "wher is my ordr", "can I pay with paypal"}
	if rows := banking77(b, "train.csv"); rows != nil {
		var err error
		r, err = New(TopicsFromExamples(rows), Config{})
		if err != nil {
			b.Fatal(err)
		}
		texts = []string{"I am still waiting on my card?", "Why was my top-up declined?", "How do I change my PIN?", "Is there a fee for exchanging currencies?"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Classify(ctx, texts[i%len(texts)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrain(b *testing.B) {
	topics := shopTopics(b)
	if rows := banking77(b, "train.csv"); rows != nil {
		topics = TopicsFromExamples(rows)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(topics, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBanking77TenShotMeetsFloor trains on ten questions per intent and
// checks the published-baseline floor on the official test split. It takes
// about a second and is skipped when the data is absent or with -short.
func TestBanking77TenShotMeetsFloor(t *testing.T) {
	train, test := banking77(t, "train_10.csv"), banking77(t, "test.csv")
	if train == nil || test == nil || testing.Short() {
		t.Skip("BANKING77 not found beside the repository, or -short")
	}
	start := time.Now()
	rep, _, err := TrainAndEvaluate(context.Background(), train, test, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accuracy < 0.75 {
		t.Errorf("10-shot accuracy %.4f < 0.75", rep.Accuracy)
	}
	t.Logf("10-shot accuracy %.4f, macro-F1 %.4f, train %.0f ms, total %v", rep.Accuracy, rep.MacroF1, rep.TrainMillis, time.Since(start))
}
