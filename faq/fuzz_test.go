package faq_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk-chat/frontdesk/faq"
)

// FuzzParse checks that no input makes Parse panic, and that it either
// returns valid topics or a well-formed *ValidationError. Seeds come from
// testdata/fuzz/FuzzParse/ (picked up by go test) and every fixture file.
func FuzzParse(f *testing.F) {
	fixtures, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, path := range append(append(fixtures, more...), "../faq.yaml") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.yaml"
		topics, err := faq.Parse(name, data)
		if err != nil {
			if topics != nil {
				t.Errorf("got %d topics with an error", len(topics))
			}
			var ve *faq.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, faq.ErrInvalid) {
				t.Fatalf("error %T is not a *ValidationError wrapping ErrInvalid: %v", err, err)
			}
			if len(ve.Problems) == 0 {
				t.Fatal("ValidationError with no problems")
			}
			for _, p := range ve.Problems {
				if p.File != name || p.Line < 0 || p.Msg == "" {
					t.Errorf("malformed problem %#v", p)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(ve.Problems) {
				t.Errorf("Error() has %d lines for %d problems", n, len(ve.Problems))
			}
			return
		}
		if len(topics) == 0 {
			t.Fatal("no error and no topics")
		}
		for _, tp := range topics {
			switch {
			case tp.ID == "":
				t.Errorf("topic with empty id: %#v", tp)
			case !tp.Stage.Valid():
				t.Errorf("%s: invalid stage %q", tp.ID, tp.Stage)
			case len(tp.Questions) < 2:
				t.Errorf("%s: %d questions", tp.ID, len(tp.Questions))
			case tp.Answer == "" && tp.Action == "":
				t.Errorf("%s: no answer and no action", tp.ID)
			}
		}
	})
}
