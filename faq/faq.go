// Package faq loads the shop's knowledge file (faq.yaml): the topics
// customers ask about, example phrasings of each, and the answers.
//
// The file is written by hand by a shop owner, so parsing is strict and
// reports every problem at once with its file and line, rather than
// stopping at the first or silently ignoring a typo. A Watcher reloads the
// file while the bot runs, keeping the last good version when an edit is
// broken.
//
// The format, in brief:
//
//	entries:
//	  - id: shipping-times        # required, lower-case slug, unique
//	    title: Shipping times     # optional, quick-reply button label
//	    stage: consideration      # required, one of the seven journey stages
//	    questions:                # required, at least 2 example phrasings
//	      - How long does delivery take?
//	      - when will my order arrive
//	    answer: |                 # required unless action is set
//	      Most UK orders arrive in 2-4 working days.
//	    human: false              # optional: always hand to a person too
//	    action: track_order       # optional: handoff | track_order
package faq

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ErrInvalid is wrapped by every *ValidationError, so callers can tell a
// broken knowledge file from an I/O error with errors.Is.
var ErrInvalid = errors.New("faq: invalid knowledge file")

// Problem is one thing wrong with a knowledge file, located so that the
// shop owner can jump straight to it in an editor.
type Problem struct {
	// File is the name passed to Parse (the path, for Load).
	File string
	// Line is 1-based; 0 means unknown (Parse always sets it) and String
	// then leaves it out.
	Line int
	// Msg says what is wrong and, where it can, how to fix it.
	Msg string
}

// String formats the problem as "file:line: msg", the form editors and
// terminals recognise as a jump target.
func (p Problem) String() string {
	if p.Line <= 0 {
		return p.File + ": " + p.Msg
	}
	return p.File + ":" + strconv.Itoa(p.Line) + ": " + p.Msg
}

// ValidationError lists everything wrong with a knowledge file, so that one
// edit-and-retry round fixes all of it.
type ValidationError struct {
	// Problems are in line order; there is at least one.
	Problems []Problem
}

// Error prints one "file:line: msg" per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalid so that errors.Is(err, ErrInvalid) holds.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// Load reads and parses the knowledge file at path. I/O errors are wrapped
// as "faq: load <path>: ..."; a broken file gives a *ValidationError whose
// problems name path.
func Load(path string) ([]bot.Topic, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("faq: load %s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse parses and validates a knowledge file held in memory (for example
// the embedded default). name is only used in error messages. It returns
// the topics in file order, or a *ValidationError listing every problem.
func Parse(name string, data []byte) ([]bot.Topic, error) {
	p := &parser{name: name}
	var topics []bot.Topic
	if root := p.decode(data); root != nil {
		topics = p.file(root)
	}
	if len(p.problems) > 0 {
		p.sort()
		return nil, &ValidationError{Problems: p.problems}
	}
	return topics, nil
}
