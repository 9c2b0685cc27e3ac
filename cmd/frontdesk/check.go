package main

import (
	"context"
	"fmt"
	"io"

	"github.com/frontdesk-chat/frontdesk/bot"
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
