package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/frontdesk-chat/frontdesk/intents"
)

// runEval implements "frontdesk eval": it trains the same intent router the
// bot serves on a labelled CSV (header text,category) and reports how well
// it does on another, or, with --holdout-oos, how well it tells
// out-of-scope messages apart using the training file alone.
func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trainPath := fs.String("train", "", "training CSV `file` (text,category); each category becomes a topic")
	testPath := fs.String("test", "", "test CSV `file` (text,category); rows labelled oos are out of scope")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	holdout := fs.Float64("holdout-oos", 0, "instead of --test, hold out this `fraction` of the training intents as out of scope and a fifth of the rest as in-scope test rows")
	seed := fs.Uint64("seed", 1, "random seed for --holdout-oos and training")
	confident := fs.Float64("confident", 0, "confident threshold (default: the router's)")
	unknown := fs.Float64("unknown", 0, "unknown threshold (default: the router's)")
	sweep := fs.Bool("sweep", false, "also show the figures thresholds from 0.05 to 0.95 would give (how the defaults were chosen)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: frontdesk eval --train FILE (--test FILE | --holdout-oos FRACTION) [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *trainPath == "" || (*testPath == "") == (*holdout == 0) {
		fs.Usage()
		return errors.New("eval: need --train and exactly one of --test or --holdout-oos")
	}
	cfg := intents.Config{Seed: *seed, ConfidentThreshold: *confident, UnknownThreshold: *unknown}
	train, err := intents.ReadCSVFile(*trainPath)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	var rep intents.Report
	if *holdout > 0 {
		rep, err = intents.HoldoutOOS(ctx, train, *holdout, *seed, cfg)
	} else {
		var test []intents.Example
		test, err = intents.ReadCSVFile(*testPath)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		rep, _, err = intents.TrainAndEvaluate(ctx, train, test, cfg)
	}
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	var rows []intents.SweepRow
	if *sweep {
		var ths []float64
		for t := 5; t <= 95; t += 5 {
			ths = append(ths, float64(t)/100)
		}
		rows = rep.Sweep(ths)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if rows != nil {
			return enc.Encode(struct {
				intents.Report
				Sweep []intents.SweepRow `json:"sweep"`
			}{rep, rows})
		}
		return enc.Encode(rep)
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if rows != nil {
		return intents.WriteSweep(stdout, rows)
	}
	return nil
}
