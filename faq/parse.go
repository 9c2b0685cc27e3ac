package faq

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Keys allowed in the file, in the order they are suggested in messages.
var (
	topKeys   = []string{"entries"}
	entryKeys = []string{"id", "title", "stage", "questions", "answer", "human", "action"}
	actions   = []string{bot.ActionHandoff, bot.ActionTrackOrder}
)

// minQuestions is the fewest example phrasings an entry may have: with one,
// the classifier learns the sentence rather than the topic.
const minQuestions = 2

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// parser walks the yaml.Node tree rather than decoding into structs, because
// only the node tree keeps line numbers for every value and lets us carry on
// past the first problem.
type parser struct {
	name     string
	problems []Problem
}

func (p *parser) addf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// sort puts problems in line order (stable, so problems on one line keep
// the order they were found in).
func (p *parser) sort() {
	slices.SortStableFunc(p.problems, func(a, b Problem) int { return a.Line - b.Line })
}

// decode parses data into its single YAML document. It returns nil after
// recording a problem when there is nothing to validate.
func (p *parser) decode(data []byte) (root *yaml.Node) {
	// The YAML library is not ours and a knowledge file is user input:
	// a panic inside it must become a problem report, not a crashed bot.
	defer func() {
		if r := recover(); r != nil {
			p.addf(1, "cannot read the file as YAML: %v", r)
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.addf(1, "the file is empty: start it with \"entries:\" followed by a list of entries")
		} else {
			p.syntax(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.addf(extra.Line, "a second YAML document starts here (\"---\"): keep all entries in one list under \"entries:\"")
	case !errors.Is(err, io.EOF):
		p.syntax(data, err)
	}
	return &doc
}

var (
	yamlLineRE      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchorRE = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
)

// syntax records a YAML syntax error at the line the YAML library reports.
// The library leaves the line out for errors on line 1, bad characters and
// unknown aliases, so those are located here.
func (p *parser) syntax(data []byte, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		switch m := unknownAnchorRE.FindStringSubmatch(msg); {
		case m != nil:
			line = lineOf(data, bytes.Index(data, []byte("*"+m[1])))
		default:
			line = lineOf(data, badCharOffset(data))
		}
	}
	p.addf(line, "syntax error: %s%s", msg, syntaxHint(msg))
}

// syntaxHint explains the YAML errors shop owners most often cause.
func syntaxHint(msg string) string {
	switch {
	case strings.Contains(msg, "mapping values are not allowed"):
		return ` (text containing ": " must be in quotes, or written as a "|" block on the lines below)`
	case strings.Contains(msg, "tab character"):
		return " (indent with spaces, not tabs)"
	case strings.Contains(msg, "did not find expected"), strings.Contains(msg, "could not find expected"):
		return " (check the indentation and quotes here and on the next few lines)"
	case strings.Contains(msg, "unknown anchor"):
		return ` (a value starting with "*" must be in quotes)`
	}
	return ""
}

// badCharOffset returns the offset of the first byte YAML rejects (invalid
// UTF-8 or a control character), or -1.
func badCharOffset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f || (r >= 0x80 && r <= 0x9f && r != 0x85) {
			return i
		}
		i += size
	}
	return -1
}

// lineOf returns the 1-based line of offset in data; line 1 when offset
// is unknown (negative).
func lineOf(data []byte, offset int) int {
	if offset < 0 || offset > len(data) {
		return 1
	}
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// file validates the document and converts its entries.
func (p *parser) file(doc *yaml.Node) []bot.Topic {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			p.addf(1, "the file is empty: start it with \"entries:\" followed by a list of entries")
			return nil
		}
		root = doc.Content[0]
	}
	switch {
	case isNull(root):
		p.addf(root.Line, "the file is empty: start it with \"entries:\" followed by a list of entries")
		return nil
	case root.Kind == yaml.SequenceNode:
		p.addf(root.Line, "the file must start with \"entries:\" and list the entries under it (found a list at the top level)")
		return nil
	case root.Kind != yaml.MappingNode:
		p.addf(root.Line, "the file must start with \"entries:\" followed by a list of entries, not %s", kindName(root))
		return nil
	}

	fields, typos := p.mapping(root, topKeys, "at the top level")
	entries, ok := fields["entries"]
	if !ok {
		if !typos["entries"] {
			p.addf(root.Line, "missing \"entries:\" (the list of entries)")
		}
		return nil
	}
	return p.entries(entries)
}

// field is a key and its value in a mapping.
type field struct{ key, value *yaml.Node }

// mapping collects the allowed keys of a mapping node, reporting unknown,
// duplicate and non-text keys. where describes the mapping for messages.
// typos holds the allowed keys that an unknown key looked like a misspelling
// of: the caller should not also report them missing.
func (p *parser) mapping(n *yaml.Node, allowed []string, where string) (fields map[string]field, typos map[string]bool) {
	fields = make(map[string]field, len(n.Content)/2)
	typos = make(map[string]bool)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.addf(k.Line, "keys must be plain names like %q, not %s", allowed[0], kindName(k))
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			if guess := closest(k.Value, allowed); guess != "" {
				typos[guess] = true
				p.addf(k.Line, "unknown key %q %s (did you mean %q?)", k.Value, where, guess)
			} else {
				p.addf(k.Line, "unknown key %q %s (allowed: %s)", k.Value, where, strings.Join(allowed, ", "))
			}
			continue
		}
		if prev, dup := fields[k.Value]; dup {
			p.addf(k.Line, "duplicate key %q (first given at line %d)", k.Value, prev.key.Line)
			continue
		}
		fields[k.Value] = field{k, v}
	}
	return fields, typos
}

// entryInfo is what cross-entry checks need to know about one entry.
type entryInfo struct {
	id        string
	line      int // line of the id, or of the entry when it has no valid id
	questions []question
}

// question is one valid example question and where it is.
type question struct {
	key  string // normalised, for duplicate checks
	text string
	line int
}

func (e entryInfo) name() string {
	if e.id != "" {
		return strconv.Quote(e.id)
	}
	return fmt.Sprintf("the entry at line %d", e.line)
}

// entries validates the list of entries and the rules that span entries:
// unique ids, and no example question taught to two topics.
func (p *parser) entries(f field) []bot.Topic {
	n := f.value
	switch {
	case n.Kind == yaml.AliasNode:
		p.alias(n)
		return nil
	case isNull(n) || (n.Kind == yaml.SequenceNode && len(n.Content) == 0):
		p.addf(f.key.Line, "there are no entries: add at least one under \"entries:\"")
		return nil
	case n.Kind != yaml.SequenceNode:
		p.addf(n.Line, "\"entries\" must be a list, each entry starting with \"- id:\", not %s", kindName(n))
		return nil
	}

	topics := make([]bot.Topic, 0, len(n.Content))
	ids := make(map[string]int)
	type owner struct {
		entry string
		line  int
	}
	owners := make(map[string]owner)
	for _, item := range n.Content {
		t, info, valid := p.entry(item)
		if info.id != "" {
			if first, dup := ids[info.id]; dup {
				p.addf(info.line, "duplicate id %q (first used at line %d)", info.id, first)
			} else {
				ids[info.id] = info.line
			}
		}
		for _, q := range info.questions {
			if o, dup := owners[q.key]; dup {
				p.addf(q.line, "question %q is also an example for %s (line %d): give each question to one topic only", q.text, o.entry, o.line)
			} else {
				owners[q.key] = owner{info.name(), q.line}
			}
		}
		if valid {
			topics = append(topics, t)
		}
	}
	return topics
}

// entry validates one entry. ok is false when it has problems; info is
// filled in as far as possible either way.
func (p *parser) entry(n *yaml.Node) (t bot.Topic, info entryInfo, valid bool) {
	before := len(p.problems)
	info.line = n.Line
	switch {
	case n.Kind == yaml.AliasNode:
		p.alias(n)
		return t, info, false
	case isNull(n):
		p.addf(n.Line, "empty entry: give it at least id, stage, questions and answer")
		return t, info, false
	case n.Kind != yaml.MappingNode:
		p.addf(n.Line, "an entry must be a set of \"key: value\" lines (id, stage, questions, answer), not %s", kindName(n))
		return t, info, false
	}
	fields, typos := p.mapping(n, entryKeys, "in entry")

	// id
	if f, has := fields["id"]; !has {
		if !typos["id"] {
			p.addf(n.Line, "missing id: add one like \"id: shipping-times\"")
		}
	} else if s, ok := p.text(f, "id"); ok {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			p.addf(f.key.Line, "empty id: add one like \"id: shipping-times\"")
		case !slugRE.MatchString(s):
			p.addf(f.value.Line, "id %q must be a lower-case slug (letters, digits and single hyphens) like %q", s, slugify(s))
		default:
			t.ID, info.id, info.line = s, s, f.value.Line
		}
	}

	// title
	if f, has := fields["title"]; has {
		if s, ok := p.text(f, "title"); ok {
			t.Title = strings.TrimSpace(s)
		}
	}

	// stage
	if f, has := fields["stage"]; !has {
		if !typos["stage"] {
			p.addf(n.Line, "missing stage (want one of %s)", stageNames())
		}
	} else if s, ok := p.text(f, "stage"); ok {
		if strings.TrimSpace(s) == "" {
			p.addf(f.key.Line, "empty stage (want one of %s)", stageNames())
		} else if st, err := bot.ParseStage(s); err != nil {
			p.addf(f.value.Line, "unknown stage %q (want one of %s)", s, stageNames())
		} else {
			t.Stage = st
		}
	}

	// action, before answer: an action makes the answer optional.
	actionSet := false
	if f, has := fields["action"]; has {
		if s, ok := p.text(f, "action"); ok {
			a := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")
			switch {
			case a == "":
			case slices.Contains(actions, a):
				t.Action, actionSet = a, true
			default:
				actionSet = true // don't also complain about a missing answer
				p.addf(f.value.Line, "unknown action %q (want %s, or leave it out for a plain answer)", s, strings.Join(actions, " or "))
			}
		} else {
			actionSet = true
		}
	}

	// answer
	const answerRule = "only entries with an action may leave it out"
	if f, has := fields["answer"]; !has {
		if !actionSet && !typos["answer"] {
			p.addf(n.Line, "missing answer (%s)", answerRule)
		}
	} else if s, ok := p.text(f, "answer"); ok {
		t.Answer = strings.TrimSpace(s)
		if t.Answer == "" && !actionSet {
			p.addf(f.key.Line, "empty answer (%s)", answerRule)
		}
	}

	// human
	if f, has := fields["human"]; has {
		t.Human = p.boolean(f)
	}

	// questions
	if f, has := fields["questions"]; !has {
		if !typos["questions"] {
			p.addf(n.Line, "missing questions: add at least %d example questions, one per line starting with \"- \"", minQuestions)
		}
	} else {
		t.Questions, info.questions = p.questions(f)
	}

	return t, info, len(p.problems) == before
}

// questions validates an entry's example questions. It returns them, and
// their normalised forms with lines for the cross-entry duplicate check.
func (p *parser) questions(f field) ([]string, []question) {
	n := f.value
	switch {
	case n.Kind == yaml.AliasNode:
		p.alias(n)
		return nil, nil
	case isNull(n):
		p.addf(f.key.Line, "no questions: add at least %d example questions, one per line starting with \"- \"", minQuestions)
		return nil, nil
	case n.Kind == yaml.ScalarNode:
		p.addf(n.Line, "questions must be a list, one question per line starting with \"- \" (got a single piece of text)")
		return nil, nil
	case n.Kind != yaml.SequenceNode:
		p.addf(n.Line, "questions must be a list, one question per line starting with \"- \", not %s", kindName(n))
		return nil, nil
	}
	qs := make([]string, 0, len(n.Content))
	infos := make([]question, 0, len(n.Content))
	seen := make(map[string]int, len(n.Content))
	for _, item := range n.Content {
		switch {
		case item.Kind == yaml.AliasNode:
			p.alias(item)
			continue
		case item.Kind == yaml.MappingNode:
			p.addf(item.Line, `a question must be text, not %s: put it in quotes if it contains ": "`, kindName(item))
			continue
		case item.Kind != yaml.ScalarNode:
			p.addf(item.Line, "a question must be text, not %s", kindName(item))
			continue
		}
		q := strings.TrimSpace(item.Value)
		if isNull(item) || q == "" {
			p.addf(item.Line, "empty question")
			continue
		}
		key := normalise(q)
		if first, dup := seen[key]; dup {
			p.addf(item.Line, "duplicate question %q (also at line %d)", q, first)
			continue
		}
		seen[key] = item.Line
		infos = append(infos, question{key: key, text: q, line: item.Line})
		qs = append(qs, q)
	}
	if len(qs) < minQuestions {
		p.addf(f.key.Line, "needs at least %d different example questions, has %d: the bot learns a topic from several phrasings", minQuestions, len(qs))
	}
	return qs, infos
}

// text returns a scalar value as text; null counts as empty. ok is false
// (and a problem recorded) when the value is a list, mapping or alias.
func (p *parser) text(f field, what string) (string, bool) {
	n := f.value
	switch {
	case n.Kind == yaml.AliasNode:
		p.alias(n)
		return "", false
	case n.Kind != yaml.ScalarNode:
		hint := ""
		if what == "answer" && n.Kind == yaml.MappingNode {
			hint = ` (write a long answer as a "|" block, or put it in quotes if it contains ": ")`
		}
		p.addf(n.Line, "%s must be text, not %s%s", what, kindName(n), hint)
		return "", false
	case isNull(n):
		return "", true
	}
	return n.Value, true
}

// boolean returns a true/false value; null counts as false.
func (p *parser) boolean(f field) bool {
	n := f.value
	if n.Kind == yaml.AliasNode {
		p.alias(n)
		return false
	}
	if isNull(n) {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		got := kindName(n)
		if n.Kind == yaml.ScalarNode {
			got = strconv.Quote(n.Value)
		}
		p.addf(n.Line, "%s must be true or false, not %s", f.key.Value, got)
		return false
	}
	return b
}

// alias reports a YAML alias: following them would let one edit change
// several entries invisibly (and aliases can form cycles).
func (p *parser) alias(n *yaml.Node) {
	p.addf(n.Line, "aliases (*%s) are not supported: write the value out in full", n.Value)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// kindName describes a node's type the way a shop owner would.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return `a set of "key: value" pairs`
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	if isNull(n) {
		return "nothing"
	}
	return "text"
}

func stageNames() string {
	names := make([]string, len(bot.Stages))
	for i, s := range bot.Stages {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

// normalise folds case, spacing and closing punctuation so that questions
// the classifier would see as the same count as duplicates.
func normalise(q string) string {
	q = strings.TrimRight(strings.ToLower(q), "?!.… \t")
	return strings.Join(strings.Fields(q), " ")
}

// slugify suggests a valid id for an invalid one.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "shipping-times"
	}
	return b.String()
}

// closest returns the allowed key that key is likely a misspelling of
// (differing in case, or by one or two edits), or "".
func closest(key string, allowed []string) string {
	k := strings.ToLower(key)
	best, bestDist := "", 3
	for _, a := range allowed {
		limit := 2
		if len(a) <= 4 {
			limit = 1 // "ab" is not a typo of "id"
		}
		if d := editDistance(k, a); d <= limit && d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance, for typo suggestions.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		return 1 << 30 // far too long to be a typo of a key
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
