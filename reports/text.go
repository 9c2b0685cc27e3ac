package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Percent formats a fraction as a percentage with one decimal.
func Percent(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// Duration formats seconds compactly ("45s", "4m30s", "2h05m"), or "-"
// when there were none (count 0).
func Duration(t Times, median bool) string {
	if t.Count == 0 {
		return "-"
	}
	s := t.P90Seconds
	if median {
		s = t.MedianSeconds
	}
	return formatSeconds(s)
}

func formatSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// ScoreText formats an average with its count: "4.50 (2)", or "-".
func ScoreText(s Score) string {
	if s.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f (%d)", s.Avg, s.Count)
}

// NPSText formats an NPS with its count: "+33 (3)", or "-".
func NPSText(n NPS) string {
	if n.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.0f (%d)", n.Score, n.Count)
}

// WriteText writes the report as readable tables for a terminal.
func WriteText(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ch := "all channels"
	if r.Channel != "" {
		ch = "channel " + string(r.Channel)
	}
	fmt.Fprintf(ew, "Frontdesk journey report: %s to %s (UTC), %s\n", r.Since.UTC().Format("2006-01-02 15:04"), r.Until.UTC().Format("2006-01-02 15:04"), ch)
	t := r.Total
	fmt.Fprintf(ew, "%d contacts: %s resolved by the bot, %s escalated, %s abandoned, %d open\n\n",
		t.Contacts, Percent(t.BotResolutionRate), Percent(t.EscalationRate), Percent(t.AbandonmentRate), t.Open)

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "STAGE        \tCONTACTS\tBOT RESOLVED\tESCALATED\tABANDONED\tOPEN\tFIRST RESP MED\tP90\tRESOLUTION MED\tP90\tCSAT\tCES\tNPS\t")
	rows := append(append([]StageRow{}, r.Stages...), r.Total)
	for _, s := range rows {
		fmt.Fprintf(tw, "%-13s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Stage, s.Contacts,
			Percent(s.BotResolutionRate), Percent(s.EscalationRate), Percent(s.AbandonmentRate), s.Open,
			Duration(s.FirstResponse, true), Duration(s.FirstResponse, false),
			Duration(s.Resolution, true), Duration(s.Resolution, false),
			ScoreText(s.CSAT), ScoreText(s.CES), NPSText(s.NPS))
	}
	tw.Flush()

	fmt.Fprintln(ew, "\nCONTACTS BY CHANNEL")
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, c := range r.Channels {
		fmt.Fprintf(tw, "  %s\t%d\n", c.Channel, c.Contacts)
	}
	tw.Flush()

	fmt.Fprintf(ew, "\nCONTACTS OVER TIME (per %s, by stage at start)\n", r.Interval)
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"FROM", "TOTAL"}
	for _, st := range bot.Stages {
		head = append(head, string(st))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, b := range r.Series {
		if b.Contacts == 0 {
			continue
		}
		cells := []string{b.Start.Format("2006-01-02"), fmt.Sprint(b.Contacts)}
		for _, st := range bot.Stages {
			cells = append(cells, fmt.Sprint(b.ByStage[st]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	tw.Flush()

	fmt.Fprintln(ew, "\nSTAGE FUNNEL (customers' stage changes in the period)")
	if len(r.Funnel) == 0 {
		fmt.Fprintln(ew, "  none")
	}
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	for _, m := range r.Funnel {
		from := string(m.From)
		if from == "" {
			from = "(new)"
		}
		fmt.Fprintf(tw, "  %s → %s\t%d\n", from, m.To, m.Count)
	}
	tw.Flush()

	fmt.Fprintln(ew, "\nUNANSWERED QUESTIONS (write FAQ entries for these)")
	if len(r.Unanswered) == 0 {
		fmt.Fprintln(ew, "  none")
	}
	for _, u := range r.Unanswered {
		fmt.Fprintf(ew, "  %s: %d\n", u.Stage, u.Count)
		for _, c := range u.Clusters {
			fmt.Fprintf(ew, "    %3d× %q\n", c.Count, c.Example)
		}
	}

	fmt.Fprintln(ew, "\nCHURN RISK (loyal customers with repeated contacts or low ratings)")
	if len(r.ChurnRisk) == 0 {
		fmt.Fprintln(ew, "  none")
	} else {
		tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  CUSTOMER\tNAME\tSTAGE\tCONTACTS\tLOW RATINGS\tLAST CONTACT\tWHY")
		for _, c := range r.ChurnRisk {
			name := c.Name
			if name == "" {
				name = "-"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%s\t%s\n", c.CustomerID, name, c.Stage, c.Contacts, c.LowRatings, c.LastAt.UTC().Format("2006-01-02 15:04"), strings.Join(c.Reasons, ", "))
		}
		tw.Flush()
	}
	return ew.err
}

// errWriter keeps the first write error so WriteText can report it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
