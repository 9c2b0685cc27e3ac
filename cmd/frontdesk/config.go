package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Defaults of the configuration; each can be changed by a flag or an
// environment variable (flags win).
const (
	defaultAddr = "127.0.0.1:8080"
	defaultData = "data"
	defaultFAQ  = "faq.yaml"
)

// env reads a variable; tests replace it.
var env = os.Getenv

// envOr returns the environment variable or def.
func envOr(name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// dataFlag adds the --data flag every command that reads the store shares.
func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", envOr("FRONTDESK_DATA", defaultData), "data directory holding frontdesk.db (env FRONTDESK_DATA)")
}

// faqFlag adds the --faq flag. The returned func reports whether the path
// was chosen explicitly (flag or env): only then is a missing file an
// error; otherwise the embedded default FAQ is used.
func faqFlag(fs *flag.FlagSet) (*string, func() bool) {
	p := fs.String("faq", envOr("FRONTDESK_FAQ", defaultFAQ), "path of the FAQ file (env FRONTDESK_FAQ)")
	return p, func() bool {
		set := env("FRONTDESK_FAQ") != ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "faq" {
				set = true
			}
		})
		return set
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// newLogger builds the process logger from FRONTDESK_LOG_LEVEL (debug,
// info, warn, error; default info) and FRONTDESK_LOG_FORMAT (text or json;
// default text).
func newLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(envOr("FRONTDESK_LOG_LEVEL", "info"))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(env("FRONTDESK_LOG_FORMAT"), "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
