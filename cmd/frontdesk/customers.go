package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/frontdesk-chat/frontdesk/bot"
)

func init() {
	commands["customers"] = command{"show, link or forget customers (customers show|link|forget ID…)", runCustomers}
}

const customersUsage = `usage:
  frontdesk customers show ID [--json]   the customer, stage history and contacts
  frontdesk customers link ID ID         make two customers one (the older record survives)
  frontdesk customers forget ID          erase the customer's personal data and messages`

func runCustomers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{customersUsage}
	}
	sub, args := args[0], args[1:]
	want := map[string]int{"show": 1, "link": 2, "forget": 1}[sub]
	if want == 0 {
		return usageError{fmt.Sprintf("customers: unknown subcommand %q\n%s", sub, customersUsage)}
	}
	fs := newFlagSet("customers "+sub, stderr)
	data := dataFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON (show)")
	ids, err := customersArgs(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != want {
		return usageError{fmt.Sprintf("customers %s: want %d customer id(s)\n%s", sub, want, customersUsage)}
	}
	db, err := openJourneyStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	e := journeyEngine(db, stderr)
	switch sub {
	case "link":
		c, err := e.Link(ctx, ids[0], ids[1], "linked by an agent")
		if err != nil {
			return customerErr(err)
		}
		fmt.Fprintf(stdout, "linked: customer %s now has %d identities, stage %s\n", c.ID, len(c.Identities), c.Stage)
		return nil
	case "forget":
		res, err := e.Forget(ctx, ids[0])
		if err != nil {
			return customerErr(err)
		}
		fmt.Fprintf(stdout, "forgotten: customer %s (%d identities, %d conversations, %d messages redacted; %d contacts kept anonymously)\n",
			res.CustomerID, res.Identities, res.Conversations, res.Messages, res.Contacts)
		return nil
	}
	rec, err := e.CustomerByID(ctx, ids[0])
	if err != nil {
		return customerErr(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rec)
	}
	return writeCustomer(stdout, rec)
}

// customersArgs parses flags wherever they appear among the arguments and
// returns the rest.
func customersArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func customerErr(err error) error {
	if bot.IsUserError(err) {
		return fmt.Errorf("%s", bot.ErrorMessage(err))
	}
	return err
}

func writeCustomer(w io.Writer, rec bot.CustomerRecord) error {
	c := rec.Customer
	if rec.MergedFrom != "" {
		fmt.Fprintf(w, "(%s was linked into %s)\n", rec.MergedFrom, c.ID)
	}
	fmt.Fprintf(w, "Customer %s\n", c.ID)
	if !rec.ForgottenAt.IsZero() {
		fmt.Fprintf(w, "  forgotten:  %s (personal data erased)\n", rec.ForgottenAt.UTC().Format("2006-01-02 15:04"))
	}
	if c.Profile.Name != "" || c.Profile.Email != "" {
		v := "unverified"
		if c.Profile.Verified {
			v = "verified"
		}
		fmt.Fprintf(w, "  profile:    %s <%s> (%s)\n", c.Profile.Name, c.Profile.Email, v)
	}
	var ids []string
	for _, id := range c.Identities {
		ids = append(ids, id.Key())
	}
	fmt.Fprintf(w, "  identities: %s\n", strings.Join(ids, ", "))
	fmt.Fprintf(w, "  stage:      %s\n  since:      %s\n", c.Stage, c.CreatedAt.UTC().Format("2006-01-02 15:04"))
	if len(c.StageHistory) > 0 {
		fmt.Fprintln(w, "\nStage history")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, h := range c.StageHistory {
			from := string(h.From)
			if from == "" {
				from = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s → %s\t%s\t%s\n", h.At.UTC().Format("2006-01-02 15:04"), from, h.To, h.Reason, h.Evidence)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nContacts (%d)\n", len(rec.Contacts))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ct := range rec.Contacts {
		var ratings []string
		for _, k := range []bot.SurveyKind{bot.SurveyCSAT, bot.SurveyCES, bot.SurveyNPS} {
			if v, ok := ct.Ratings[string(k)]; ok {
				ratings = append(ratings, fmt.Sprintf("%s %d", k, v))
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s → %s\t%s\t%s\t%s\n", ct.StartedAt.UTC().Format("2006-01-02 15:04"), ct.Channel,
			ct.StageAtStart, orDash(string(ct.StageAtEnd)), ct.Outcome, strings.Join(ct.Intents(), ","), strings.Join(ratings, " "))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
