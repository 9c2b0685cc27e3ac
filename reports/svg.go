package reports

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// Series is one named set of values of a bar chart, one per category.
type Series struct {
	Name   string
	Color  string
	Values []float64
}

// Chart is a bar chart rendered as inline SVG, server-side: no script, no
// CDN.
type Chart struct {
	ID         string
	Title      string
	Categories []string
	Series     []Series
	// Stacked stacks the series; otherwise bars are grouped.
	Stacked bool
	// Unit follows values on the axis ("%", "min").
	Unit string
	// Horizontal draws one bar per row with the category on its left (for
	// long labels); only the first series is drawn.
	Horizontal bool
}

// stageColors gives each stage the same colour on every chart.
var stageColors = map[bot.Stage]string{
	bot.StageAwareness: "#8ecae6", bot.StageConsideration: "#219ebc", bot.StagePurchase: "#023047",
	bot.StagePostPurchase: "#ffb703", bot.StageLoyalty: "#fb8500", bot.StageAdvocacy: "#2a9d8f", bot.StageLapsed: "#9e9e9e",
}

var palette = []string{"#219ebc", "#fb8500", "#2a9d8f", "#e63946", "#6d597a", "#ffb703"}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// SVG renders the chart. Values may be negative (NPS): bars grow from the
// zero line.
func (c Chart) SVG() template.HTML {
	if c.Horizontal {
		return c.horizontalSVG()
	}
	const (
		w, h                   = 640.0, 260.0
		left, right, top, bott = 48.0, 12.0, 28.0, 56.0
	)
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, esc(c.ID), w, h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title><text x="%.0f" y="18" class="t">%s</text>`, esc(c.Title), left, esc(c.Title))
	lo, hi := 0.0, 0.0
	for i := range c.Categories {
		pos, neg := 0.0, 0.0
		for _, s := range c.Series {
			v := s.Values[i]
			if c.Stacked {
				if v >= 0 {
					pos += v
				} else {
					neg += v
				}
			} else {
				pos, neg = math.Max(pos, v), math.Min(neg, v)
			}
		}
		hi, lo = math.Max(hi, pos), math.Min(lo, neg)
	}
	if hi == lo {
		hi = 1
	}
	plotH := h - top - bott
	y := func(v float64) float64 { return top + (hi-v)/(hi-lo)*plotH }
	// Axis with min, zero and max labels.
	for _, v := range []float64{lo, 0, hi} {
		if v == lo && v == 0 && lo != 0 {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="g"/><text x="%.0f" y="%.1f" class="a" text-anchor="end">%s%s</text>`,
			left, w-right, y(v), y(v), left-4, y(v)+4, fmtNum(v), esc(c.Unit))
	}
	n := len(c.Categories)
	if n == 0 {
		b.WriteString(`<text x="320" y="130" text-anchor="middle" class="a">no data</text></svg>`)
		return template.HTML(b.String())
	}
	slot := (w - left - right) / float64(n)
	groups := len(c.Series)
	if c.Stacked {
		groups = 1
	}
	bar := math.Max(1, (slot*0.8)/float64(max(groups, 1)))
	for i, cat := range c.Categories {
		x0 := left + float64(i)*slot + slot*0.1
		pos, neg := 0.0, 0.0
		for j, s := range c.Series {
			v := s.Values[i]
			var from, to, x float64
			if c.Stacked {
				x = x0
				if v >= 0 {
					from, to = pos, pos+v
					pos += v
				} else {
					from, to = neg+v, neg
					neg += v
				}
			} else {
				x = x0 + float64(j)*bar
				from, to = math.Min(0, v), math.Max(0, v)
			}
			if v == 0 {
				continue
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s%s</title></rect>`,
				x, y(to), bar-1, y(from)-y(to), s.Color, esc(cat), esc(s.Name), fmtNum(v), esc(c.Unit))
		}
		if n <= 16 || i%((n+15)/16) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" class="a" text-anchor="end" transform="rotate(-30 %.1f %.0f)">%s</text>`,
				x0+slot*0.4, h-bott+14, x0+slot*0.4, h-bott+14, esc(cat))
		}
	}
	// Legend.
	lx := left
	for _, s := range c.Series {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="10" height="10" fill="%s"/><text x="%.0f" y="%.0f" class="a">%s</text>`, lx, h-12, s.Color, lx+13, h-3, esc(s.Name))
		lx += 20 + 6.5*float64(len(s.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Charts builds the report's charts, in page order.
func Charts(r *Report) []Chart {
	var cats []string
	for _, bk := range r.Series {
		cats = append(cats, bk.Start.Format("01-02"))
	}
	byStage := Chart{ID: "contacts-by-stage", Title: "Contacts by stage over time (per " + r.Interval + ")", Categories: cats, Stacked: true}
	for _, st := range bot.Stages {
		s := Series{Name: string(st), Color: stageColors[st]}
		for _, bk := range r.Series {
			s.Values = append(s.Values, float64(bk.ByStage[st]))
		}
		byStage.Series = append(byStage.Series, s)
	}
	byChannel := Chart{ID: "contacts-by-channel", Title: "Contacts by channel over time (per " + r.Interval + ")", Categories: cats, Stacked: true}
	for i, c := range r.Channels {
		s := Series{Name: string(c.Channel), Color: palette[i%len(palette)]}
		for _, bk := range r.Series {
			s.Values = append(s.Values, float64(bk.ByChannel[c.Channel]))
		}
		byChannel.Series = append(byChannel.Series, s)
	}
	var stages []string
	for _, s := range r.Stages {
		stages = append(stages, string(s.Stage))
	}
	col := func(f func(StageRow) float64) []float64 {
		out := make([]float64, len(r.Stages))
		for i, s := range r.Stages {
			out[i] = f(s)
		}
		return out
	}
	pct := func(f func(StageRow) float64) []float64 {
		return col(func(s StageRow) float64 { return math.Round(1000*f(s)) / 10 })
	}
	mins := func(f func(StageRow) float64) []float64 {
		return col(func(s StageRow) float64 { return math.Round(10*f(s)/60) / 10 })
	}
	rates := Chart{ID: "rates-by-stage", Title: "Bot resolution, escalation and abandonment by stage", Categories: stages, Unit: "%", Series: []Series{
		{"bot resolved", palette[0], pct(func(s StageRow) float64 { return s.BotResolutionRate })},
		{"escalated", palette[1], pct(func(s StageRow) float64 { return s.EscalationRate })},
		{"abandoned", palette[3], pct(func(s StageRow) float64 { return s.AbandonmentRate })},
	}}
	times := Chart{ID: "times-by-stage", Title: "First response and resolution time by stage (from escalation)", Categories: stages, Unit: "m", Series: []Series{
		{"first response median", palette[0], mins(func(s StageRow) float64 { return s.FirstResponse.MedianSeconds })},
		{"first response p90", "#8ecae6", mins(func(s StageRow) float64 { return s.FirstResponse.P90Seconds })},
		{"resolution median", palette[1], mins(func(s StageRow) float64 { return s.Resolution.MedianSeconds })},
		{"resolution p90", "#ffb703", mins(func(s StageRow) float64 { return s.Resolution.P90Seconds })},
	}}
	ratings := Chart{ID: "ratings-by-stage", Title: "CSAT (1-5) and CES (1-7) averages by stage", Categories: stages, Series: []Series{
		{"CSAT", palette[2], col(func(s StageRow) float64 { return math.Round(100*s.CSAT.Avg) / 100 })},
		{"CES", palette[4], col(func(s StageRow) float64 { return math.Round(100*s.CES.Avg) / 100 })},
	}}
	npsChart := Chart{ID: "nps-by-stage", Title: "NPS by stage (-100 to 100)", Categories: stages, Series: []Series{
		{"NPS", palette[1], col(func(s StageRow) float64 { return math.Round(s.NPS.Score) })},
	}}
	funnel := Chart{ID: "funnel", Title: "Stage funnel: customers' moves between stages", Horizontal: true}
	fs := Series{Name: "customers", Color: palette[0]}
	for _, m := range r.Funnel {
		from := string(m.From)
		if from == "" {
			from = "new"
		}
		funnel.Categories = append(funnel.Categories, from+" → "+string(m.To))
		fs.Values = append(fs.Values, float64(m.Count))
	}
	funnel.Series = []Series{fs}
	return []Chart{byStage, byChannel, rates, times, ratings, npsChart, funnel}
}

func (c Chart) horizontalSVG() template.HTML {
	const w, left, right, top, row = 640.0, 190.0, 40.0, 32.0, 22.0
	esc := html.EscapeString
	h := top + row*float64(max(len(c.Categories), 1)) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, esc(c.ID), w, h, esc(c.Title))
	fmt.Fprintf(&b, `<title>%s</title><text x="12" y="18" class="t">%s</text>`, esc(c.Title), esc(c.Title))
	if len(c.Categories) == 0 || len(c.Series) == 0 {
		b.WriteString(`<text x="320" y="50" text-anchor="middle" class="a">no data</text></svg>`)
		return template.HTML(b.String())
	}
	s := c.Series[0]
	hi := 0.0
	for _, v := range s.Values {
		hi = math.Max(hi, v)
	}
	if hi == 0 {
		hi = 1
	}
	for i, cat := range c.Categories {
		y := top + float64(i)*row
		v := s.Values[i]
		bw := (w - left - right) * v / hi
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="a" text-anchor="end">%s</text>`, left-6, y+row/2+3, esc(cat))
		if v > 0 {
			fmt.Fprintf(&b, `<rect class="bar" x="%.0f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>`, left, y+3, bw, row-6, s.Color, esc(cat), fmtNum(v))
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="a">%s</text>`, left+bw+4, y+row/2+3, fmtNum(v))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
