// Command frontdesk is the Frontdesk customer-support bot: one binary that
// serves the website chat widget (and Slack and Discord when configured),
// answers from faq.yaml, hands complex cases to people and logs every
// contact against the customer's journey stage.
//
// Usage: frontdesk [command] [flags]; see "frontdesk help".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	_ "time/tzdata" // zone data for machines without tzdata (business hours)
)

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; "frontdesk help" prints them.
var commands = map[string]command{}

func init() {
	commands["serve"] = command{"serve customers (the default when no command is given)", runServe}
	commands["check"] = command{"validate faq.yaml and exit", runCheck}
	commands["eval"] = command{"train the intent router on a CSV and measure it on another", runEval}
	commands["help"] = command{"list the commands", runHelp}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "frontdesk:", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCode is 2 for usage errors, 1 otherwise.
func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || errors.Is(err, flag.ErrHelp) {
		return 2
	}
	return 1
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

// run dispatches to a subcommand; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "-h" || name == "--help" {
		name = "help"
	}
	cmd, ok := commands[name]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q (run 'frontdesk help')", name)}
	}
	return cmd.run(ctx, args, stdout, stderr)
}

func runHelp(_ context.Context, _ []string, stdout, _ io.Writer) error {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(stdout, "Usage: frontdesk [command] [flags]")
	fmt.Fprintln(stdout, "\nCommands:")
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(stdout, "\nRun 'frontdesk COMMAND -h' for a command's flags.")
	return nil
}
