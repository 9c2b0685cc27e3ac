package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/reports"
	"github.com/frontdesk-chat/frontdesk/store"
)

func init() {
	commands["report"] = command{"print the journey report: contacts by stage, rates, times, ratings", runReport}
}

// journeyNow is the clock of the journey commands; tests replace it.
var journeyNow = time.Now

// openJourneyStore opens the data directory's database for a command that
// reads (or, for customers, edits) the ledger. The server holds the file's
// lock while it runs: stop it first, or use GET /api/reports.
func openJourneyStore(dir string) (*store.DB, error) {
	path := filepath.Join(dir, "frontdesk.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no data at %s (run the server first, or pass --data): %w", path, err)
	}
	db, err := store.Open(store.Config{Path: path})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w\n(stop the server first, or use GET /api/reports while it runs)", err)
	}
	return db, err
}

// rangeFlags adds --since, --until and --channel.
func rangeFlags(fs *flag.FlagSet) (since, until, channel *string) {
	since = fs.String("since", "", "start: a date (2026-11-01), RFC 3339 time or age (7d, 36h); default 30 days before --until")
	until = fs.String("until", "", "end (exclusive; a date means the end of that day); default now")
	channel = fs.String("channel", "", "only this channel (web, slack, discord); default all")
	return since, until, channel
}

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stderr)
	since, until, channel := rangeFlags(fs)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON (the same as GET /api/reports)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	now := journeyNow()
	f, err := reports.ParseFilter(*since, *until, *channel, now)
	if err != nil {
		return usageError{err.Error()}
	}
	db, err := openJourneyStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := reports.Compute(ctx, db, f, now)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return reports.WriteText(stdout, rep)
}

// journeyEngine is an engine over db for commands that edit customers.
func journeyEngine(db bot.Store, stderr io.Writer) *bot.Engine {
	return bot.NewEngine(db, bot.Config{Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Now: journeyNow})
}
