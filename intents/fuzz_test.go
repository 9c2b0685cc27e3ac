package intents

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func FuzzClassify(f *testing.F) {
	f.Add("where is my order #A1234?")
	r := shop(f)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := r.Classify(context.Background(), text)
		if err != nil {
			t.Fatal(err)
		}
		if p.Confidence < 0 || p.Confidence > 1 || p.Confidence != p.Confidence {
			t.Fatalf("confidence %v", p.Confidence)
		}
		if len(p.Alternatives) > 3 || p.Intent != "" && (len(p.Alternatives) == 0 || p.Alternatives[0].Intent != p.Intent) {
			t.Fatalf("alternatives %v for intent %q", p.Alternatives, p.Intent)
		}
		if p.Intent == "" && p.Verdict != bot.Unknown {
			t.Fatalf("no intent but verdict %v", p.Verdict)
		}
		for _, list := range [][]string{p.Entities.OrderNumbers, p.Entities.Emails, p.Entities.Postcodes} {
			for _, v := range list {
				if v == "" || !utf8.ValidString(v) {
					t.Fatalf("bad entity %q", v)
				}
			}
		}
		for _, o := range p.Entities.OrderNumbers {
			if o[0] == '#' {
				t.Fatalf("order number %q keeps its '#'", o)
			}
		}
		_ = DetectLanguage(text)
	})
}
