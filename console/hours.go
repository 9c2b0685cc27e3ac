package console

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/frontdesk-chat/frontdesk/bot"
)

// ErrBadHours reports a business-hours setting that cannot be read.
var ErrBadHours = errors.New("bad business hours")

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "sunday": time.Sunday,
	"mon": time.Monday, "monday": time.Monday,
	"tue": time.Tuesday, "tues": time.Tuesday, "tuesday": time.Tuesday,
	"wed": time.Wednesday, "wednesday": time.Wednesday,
	"thu": time.Thursday, "thur": time.Thursday, "thurs": time.Thursday, "thursday": time.Thursday,
	"fri": time.Friday, "friday": time.Friday,
	"sat": time.Saturday, "saturday": time.Saturday,
}

// ParseBusinessHours reads business hours:
//
//	hours:    "Mon-Fri 09:00-17:30; Sat 10:00-14:00" — entries separated by
//	          ';', each a list of days or day ranges (comma-separated; a range
//	          may wrap, "Fri-Mon") and one time range HH:MM-HH:MM (24:00 ends
//	          at midnight). Days not listed are closed. Each day may appear
//	          once.
//	zone:     an IANA time zone ("Europe/London"); "" means UTC.
//	holidays: closed dates, "2026-12-25,2026-12-26".
//
// With no hours and no holidays it returns nil (always open); holidays
// alone mean open all day every day except on them.
func ParseBusinessHours(hours, zone, holidays string) (*bot.BusinessHours, error) {
	loc := time.UTC
	if z := strings.TrimSpace(zone); z != "" {
		l, err := time.LoadLocation(z)
		if err != nil {
			return nil, fmt.Errorf("%w: time zone %q: %v", ErrBadHours, z, err)
		}
		loc = l
	}
	days, err := ParseHolidays(holidays, loc)
	if err != nil {
		return nil, err
	}
	open, err := parseWeek(hours)
	if err != nil {
		return nil, err
	}
	if open == nil && days == nil {
		return nil, nil
	}
	if open == nil {
		open = map[time.Weekday]bot.Span{}
		for d := time.Sunday; d <= time.Saturday; d++ {
			open[d] = bot.Span{From: 0, To: 24 * time.Hour}
		}
	}
	return &bot.BusinessHours{Location: loc, Open: open, Holidays: days}, nil
}

func parseWeek(s string) (map[time.Weekday]bot.Span, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	open := map[time.Weekday]bot.Span{}
	for _, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		i := strings.LastIndexAny(entry, " \t")
		if i < 0 {
			return nil, fmt.Errorf("%w: %q: want days then a time range, like \"Mon-Fri 09:00-17:30\"", ErrBadHours, entry)
		}
		daysPart, spanPart := strings.TrimSpace(entry[:i]), strings.TrimSpace(entry[i+1:])
		span, err := parseSpan(spanPart)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadHours, entry, err)
		}
		days, err := parseDays(daysPart)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrBadHours, entry, err)
		}
		for _, d := range days {
			if _, dup := open[d]; dup {
				return nil, fmt.Errorf("%w: %s is listed twice (one opening range per day)", ErrBadHours, d)
			}
			open[d] = span
		}
	}
	if len(open) == 0 {
		return nil, fmt.Errorf("%w: %q has no opening times", ErrBadHours, s)
	}
	return open, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var out []time.Weekday
	for _, part := range strings.Split(s, ",") {
		part = strings.ToLower(strings.TrimSpace(part))
		if part == "" {
			return nil, errors.New("empty day")
		}
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.TrimSpace(from)]
		if !ok {
			return nil, fmt.Errorf("unknown day %q", from)
		}
		if !isRange {
			out = append(out, a)
			continue
		}
		b, ok := dayNames[strings.TrimSpace(to)]
		if !ok {
			return nil, fmt.Errorf("unknown day %q", to)
		}
		for d := a; ; d = (d + 1) % 7 {
			out = append(out, d)
			if d == b {
				break
			}
		}
	}
	return out, nil
}

func parseSpan(s string) (bot.Span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return bot.Span{}, fmt.Errorf("time range %q: want HH:MM-HH:MM", s)
	}
	f, err := parseClock(from)
	if err != nil {
		return bot.Span{}, err
	}
	t, err := parseClock(to)
	if err != nil {
		return bot.Span{}, err
	}
	if t <= f {
		return bot.Span{}, fmt.Errorf("time range %q must end after it starts (overnight ranges are not supported; split them by day)", s)
	}
	return bot.Span{From: f, To: t}, nil
}

func parseClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || err1 != nil || err2 != nil || len(mm) != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM from 00:00 to 24:00", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// ParseHolidays reads comma-separated dates (YYYY-MM-DD) in loc.
func ParseHolidays(s string, loc *time.Location) ([]time.Time, error) {
	var out []time.Time
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		d, err := time.ParseInLocation("2006-01-02", p, loc)
		if err != nil {
			return nil, fmt.Errorf("%w: holiday %q: want YYYY-MM-DD", ErrBadHours, p)
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseStageMaxMisses reads per-stage escalation thresholds,
// "purchase=1,consideration=3" (',' or ';' between entries).
func ParseStageMaxMisses(s string) (map[bot.Stage]int, error) {
	out := map[bot.Stage]int{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		name, val, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("stage threshold %q: want stage=number", p)
		}
		st, err := bot.ParseStage(name)
		if err != nil {
			return nil, fmt.Errorf("stage threshold %q: %w", p, err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("stage threshold %q: want a whole number of at least 1", p)
		}
		out[st] = n
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
