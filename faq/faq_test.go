package faq_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	frontdesk "github.com/frontdesk-chat/frontdesk"
	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/faq"
)

// problems returns the problems in err, failing the test if err is not a
// *faq.ValidationError wrapping faq.ErrInvalid.
func problems(t *testing.T, err error) []faq.Problem {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a validation error")
	}
	if !errors.Is(err, faq.ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	var ve *faq.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, want *faq.ValidationError: %v", err, err)
	}
	if len(ve.Problems) == 0 {
		t.Fatal("ValidationError has no problems")
	}
	return ve.Problems
}

// hasProblem reports whether one of the problems prints with prefix and
// contains phrase.
func hasProblem(ps []faq.Problem, prefix, phrase string) bool {
	for _, p := range ps {
		s := p.String()
		if strings.HasPrefix(s, prefix) && strings.Contains(s, phrase) {
			return true
		}
	}
	return false
}

func TestLoadReportsProblemAtFileAndLine(t *testing.T) {
	tests := []struct {
		name   string
		file   string // under testdata/invalid
		line   int
		phrase string
	}{
		{"syntax error reports the line yaml gives", "syntax.yaml", 4, "mapping values are not allowed"},
		{"syntax error explains the colon", "syntax.yaml", 4, `must be in quotes`},
		{"tab indentation is a syntax error", "tab.yaml", 2, "tab character that violates indentation (indent with spaces, not tabs)"},
		{"unknown top-level key", "unknown-top-key.yaml", 8, `unknown key "version" at the top level`},
		{"unknown entry key suggests the right one", "unknown-entry-key.yaml", 7, `unknown key "anwser" in entry (did you mean "answer"?)`},
		{"duplicate id reports both lines", "duplicate-id.yaml", 9, `duplicate id "delivery" (first used at line 2)`},
		{"missing id", "missing-id.yaml", 8, "missing id"},
		{"empty id", "empty-id.yaml", 2, "empty id"},
		{"id that is not a slug suggests one", "bad-id.yaml", 2, `id "Shipping Times" must be a lower-case slug (letters, digits and single hyphens) like "shipping-times"`},
		{"missing stage lists the valid ones", "missing-stage.yaml", 2, "missing stage (want one of awareness, consideration, purchase, post-purchase, loyalty, advocacy, lapsed)"},
		{"unknown stage lists the valid ones", "unknown-stage.yaml", 3, `unknown stage "checkout" (want one of awareness, consideration, purchase, post-purchase, loyalty, advocacy, lapsed)`},
		{"empty answer without action", "empty-answer.yaml", 7, "empty answer (only entries with an action may leave it out)"},
		{"missing answer without action", "empty-answer.yaml", 9, "missing answer (only entries with an action may leave it out)"},
		{"fewer than two questions", "one-question.yaml", 4, "needs at least 2 different example questions, has 1"},
		{"null question is empty", "empty-question.yaml", 6, "empty question"},
		{"quoted empty question is empty", "empty-question.yaml", 8, "empty question"},
		{"duplicate question ignoring case, spaces and punctuation", "duplicate-question.yaml", 7, `duplicate question "Do you   deliver?" (also at line 5)`},
		{"question shared by two entries", "question-in-two-entries.yaml", 12, `question "How much is delivery?" is also an example for "delivery-costs" (line 5)`},
		{"unknown action", "unknown-action.yaml", 7, `unknown action "track" (want handoff or track_order`},
		{"questions given as one string", "questions-string.yaml", 4, "questions must be a list"},
		{"question with unquoted colon", "question-with-colon.yaml", 6, "a question must be text, not a set of"},
		{"human that is not a boolean", "human-not-bool.yaml", 8, `human must be true or false, not "yes"`},
		{"answer given as a list", "answer-list.yaml", 8, "answer must be text, not a list"},
		{"empty file", "empty.yaml", 1, "the file is empty"},
		{"file with only comments", "comments-only.yaml", 1, "the file is empty"},
		{"empty entries list", "no-entries.yaml", 2, "there are no entries"},
		{"no entries key", "entries-missing.yaml", 2, `missing "entries:"`},
		{"top-level list instead of entries", "top-level-list.yaml", 1, `the file must start with "entries:"`},
		{"duplicate key in an entry", "duplicate-key.yaml", 8, `duplicate key "answer" (first given at line 7)`},
		{"alias is rejected", "alias.yaml", 9, "aliases (*s) are not supported"},
		{"second yaml document", "two-documents.yaml", 8, "a second YAML document starts here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tt.file)
			topics, err := faq.Load(path)
			if topics != nil {
				t.Errorf("got %d topics with an error, want nil", len(topics))
			}
			ps := problems(t, err)
			prefix := path + ":" + strconv.Itoa(tt.line) + ": "
			if !hasProblem(ps, prefix, tt.phrase) {
				t.Errorf("no problem %q...%q in:\n%v", prefix, tt.phrase, err)
			}
			for _, p := range ps {
				if p.File != path {
					t.Errorf("problem names file %q, want %q", p.File, path)
				}
			}
		})
	}
}

func TestParseLocatesErrorsYAMLGivesNoLineFor(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		line   int
		phrase string
	}{
		{"error on line one", "entries: a: b\n", 1, "mapping values are not allowed"},
		{"control character", "entries:\n  - id: a\n    answer: bad \x01 char\n", 3, "control characters are not allowed"},
		{"invalid utf-8", "entries:\n  - id: a\n\n    answer: caf\xe9\n", 4, "UTF-8"},
		{"unquoted star starts an alias", "entries:\n  - id: a\n    answer: *bold\n", 3, `unknown anchor 'bold' referenced (a value starting with "*" must be in quotes)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := faq.Parse("inline.yaml", []byte(tt.data))
			ps := problems(t, err)
			if prefix := "inline.yaml:" + strconv.Itoa(tt.line) + ": syntax error: "; !hasProblem(ps, prefix, tt.phrase) {
				t.Errorf("no problem %q...%q in:\n%v", prefix, tt.phrase, err)
			}
		})
	}
}

func TestParseReportsEveryProblemInLineOrder(t *testing.T) {
	const path = "testdata/invalid/many-problems.yaml"
	_, err := faq.Load(path)
	ps := problems(t, err)
	want := []struct {
		line   int
		phrase string
	}{
		{3, `id "Delivery" must be a lower-case slug`},
		{4, `unknown stage "somewhere"`},
		{5, "needs at least 2 different example questions, has 1"},
		{8, `unknown key "colour"`},
		{12, "needs at least 2 different example questions, has 1"},
		{14, "empty question"},
		{15, `duplicate question "can I return it" (also at line 13)`},
		{16, `unknown action "refund"`},
		{18, `duplicate id "returns" (first used at line 10)`},
		{18, "missing stage"},
		{18, "missing answer"},
		{19, "questions must be a list"},
		{20, `human must be true or false, not "maybe"`},
	}
	for _, w := range want {
		if !hasProblem(ps, path+":"+strconv.Itoa(w.line)+": ", w.phrase) {
			t.Errorf("missing problem at line %d: %q", w.line, w.phrase)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Line < ps[i-1].Line {
			t.Errorf("problems out of line order: %v before %v", ps[i-1], ps[i])
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ps) {
		t.Errorf("Error() has %d lines, want one per problem (%d):\n%s", len(lines), len(ps), err)
	}
	for i, l := range lines {
		if l != ps[i].String() {
			t.Errorf("Error() line %d = %q, want %q", i, l, ps[i].String())
		}
	}
}

func TestLoadGoodFileConvertsEveryField(t *testing.T) {
	topics, err := faq.Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []bot.Topic{
		{
			ID:        "shipping-times",
			Title:     "Shipping times",
			Stage:     bot.StageConsideration,
			Questions: []string{"How long does delivery take?", "when will it arrive: roughly?", "yes"},
			Answer:    "Most UK orders arrive in 2-4 working days.\nExpress is next day.",
		},
		{
			ID:        "damaged-item",
			Stage:     bot.StagePostPurchase,
			Questions: []string{"my item arrived damaged", "it's broken"},
			Answer:    "Sorry! A person will help.",
			Human:     true,
		},
		{
			ID:        "track-order",
			Stage:     bot.StagePostPurchase,
			Questions: []string{"where is my order", "wher is my ordr"},
			Action:    bot.ActionTrackOrder,
		},
	}
	if !reflect.DeepEqual(topics, want) {
		t.Errorf("got\n%#v\nwant\n%#v", topics, want)
	}
}

func TestLoadMissingFileWrapsIOError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := faq.Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, faq.ErrInvalid) {
		t.Error("an I/O error must not match ErrInvalid")
	}
	if want := "faq: load " + path + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestProblemWithoutLinePrintsFileOnly(t *testing.T) {
	p := faq.Problem{File: "faq.yaml", Msg: "syntax error: something"}
	if got, want := p.String(), "faq.yaml: syntax error: something"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestShippedFAQLoadsCleanly(t *testing.T) {
	topics, err := faq.Load("../faq.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) < 40 {
		t.Errorf("got %d entries, want at least 40", len(topics))
	}
	perStage := make(map[bot.Stage]int)
	actions := make(map[string]int)
	for _, tp := range topics {
		perStage[tp.Stage]++
		actions[tp.Action]++
		if n := len(tp.Questions); n < 5 || n > 10 {
			t.Errorf("%s has %d example questions, want 5-10", tp.ID, n)
		}
		if tp.Title == "" {
			t.Errorf("%s has no title for its button", tp.ID)
		}
	}
	for _, s := range bot.Stages {
		if perStage[s] == 0 {
			t.Errorf("no entry for stage %s", s)
		}
	}
	if n := actions[bot.ActionTrackOrder]; n != 1 {
		t.Errorf("got %d track_order entries, want exactly 1", n)
	}
	if actions[bot.ActionHandoff] == 0 {
		t.Error("no handoff entry")
	}
	t.Logf("%d entries: %v", len(topics), perStage)
}

func TestEmbeddedDefaultFAQEqualsFile(t *testing.T) {
	data, err := os.ReadFile("../faq.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(frontdesk.DefaultFAQ, data) {
		t.Error("frontdesk.DefaultFAQ differs from ../faq.yaml")
	}
	if _, err := faq.Parse("faq.yaml (embedded)", frontdesk.DefaultFAQ); err != nil {
		t.Error(err)
	}
}

func TestMisspelledKeyIsNotAlsoReportedMissing(t *testing.T) {
	const path = "testdata/invalid/unknown-entry-key.yaml"
	_, err := faq.Load(path)
	if ps := problems(t, err); len(ps) != 1 {
		t.Errorf("got %d problems, want only the unknown key:\n%v", len(ps), err)
	}
}
