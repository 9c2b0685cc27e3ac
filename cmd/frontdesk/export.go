package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/frontdesk-chat/frontdesk/bot"
	"github.com/frontdesk-chat/frontdesk/reports"
)

func init() {
	commands["export"] = command{"write the contact ledger as NDJSON (one contact per line)", runExport}
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	since, until, channel := rangeFlags(fs)
	data := dataFlag(fs)
	out := fs.String("out", "", "write to FILE (created 0600, replaced atomically) instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *since == "" {
		*since = "1970-01-01" // the whole ledger unless asked otherwise
	}
	f, err := reports.ParseFilter(*since, *until, *channel, journeyNow())
	if err != nil {
		return usageError{err.Error()}
	}
	db, err := openJourneyStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	cf := bot.ContactFilter{Since: f.Since, Until: f.Until}
	if f.Channel != "" {
		cf.Channels = []bot.Channel{f.Channel}
	}
	if *out == "" {
		_, err := exportContacts(ctx, db, cf, stdout)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(*out), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := exportContacts(ctx, db, cf, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(stderr, "exported %d contacts to %s\n", n, *out)
	return nil
}

// exportContacts writes each matching contact as one JSON line.
func exportContacts(ctx context.Context, s bot.Store, f bot.ContactFilter, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	var werr error
	err := bot.QueryContacts(ctx, s, f, func(c bot.Contact) bool {
		if werr = enc.Encode(c); werr != nil {
			return false
		}
		n++
		return true
	})
	if err == nil {
		err = werr
	}
	if err == nil {
		err = bw.Flush()
	}
	return n, err
}
