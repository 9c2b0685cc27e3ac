package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/faq"
)

// runCheck validates the FAQ without serving: it loads the file, reports
// every problem with file:line, and trains the router so a file that loads
// but cannot be learnt also fails.
func runCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check", stderr)
	path, explicit := faqFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	topics, src, err := loadTopics(*path, explicit())
	var verr *faq.ValidationError
	if errors.As(err, &verr) {
		// One "file:line: problem" per line, the form editors jump to.
		for _, p := range verr.Problems {
			fmt.Fprintln(stderr, p.String())
		}
		return fmt.Errorf("%s: %d problem(s)", src, len(verr.Problems))
	}
	if err != nil {
		return err
	}
	if _, err := buildKnowledge(topics); err != nil {
		return fmt.Errorf("check %s: %w", src, err)
	}
	perStage := map[bot.Stage]int{}
	for _, t := range topics {
		perStage[t.Stage]++
	}
	fmt.Fprintf(stdout, "%s: ok, %d topics\n", src, len(topics))
	for _, s := range bot.Stages {
		fmt.Fprintf(stdout, "  %-14s %d\n", s, perStage[s])
	}
	return nil
}
