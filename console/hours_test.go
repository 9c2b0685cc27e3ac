package console

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // zone data for machines without tzdata (business hours)

	"github.com/frontdesk-chat/frontdesk/bot"
)

func TestParseBusinessHours(t *testing.T) {
	hm := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	sp := func(from, to time.Duration) bot.Span { return bot.Span{From: from, To: to} }
	tests := []struct {
		name, hours, zone, holidays string
		want                        map[time.Weekday]bot.Span // nil: expect nil hours
		wantHolidays                int
		wantErr                     bool
	}{
		{name: "empty means always open"},
		{name: "weekdays and saturday", hours: "Mon-Fri 09:00-17:30; Sat 10:00-14:00", want: map[time.Weekday]bot.Span{
			time.Monday: sp(hm(9, 0), hm(17, 30)), time.Tuesday: sp(hm(9, 0), hm(17, 30)), time.Wednesday: sp(hm(9, 0), hm(17, 30)),
			time.Thursday: sp(hm(9, 0), hm(17, 30)), time.Friday: sp(hm(9, 0), hm(17, 30)), time.Saturday: sp(hm(10, 0), hm(14, 0))}},
		{name: "lists, full names and case", hours: "monday,WED 08:00-12:00;Friday 13:00-24:00", want: map[time.Weekday]bot.Span{
			time.Monday: sp(hm(8, 0), hm(12, 0)), time.Wednesday: sp(hm(8, 0), hm(12, 0)), time.Friday: sp(hm(13, 0), hm(24, 0))}},
		{name: "range wrapping the weekend", hours: "Sat-Mon 10:00-11:00", want: map[time.Weekday]bot.Span{
			time.Saturday: sp(hm(10, 0), hm(11, 0)), time.Sunday: sp(hm(10, 0), hm(11, 0)), time.Monday: sp(hm(10, 0), hm(11, 0))}},
		{name: "trailing separator is fine", hours: "Mon 09:00-10:00;", want: map[time.Weekday]bot.Span{time.Monday: sp(hm(9, 0), hm(10, 0))}},
		{name: "holidays alone mean open every day but them", holidays: "2026-12-25, 2026-12-26", wantHolidays: 2,
			want: map[time.Weekday]bot.Span{0: sp(0, hm(24, 0)), 1: sp(0, hm(24, 0)), 2: sp(0, hm(24, 0)), 3: sp(0, hm(24, 0)), 4: sp(0, hm(24, 0)), 5: sp(0, hm(24, 0)), 6: sp(0, hm(24, 0))}},
		{name: "unknown day is refused", hours: "Funday 09:00-17:00", wantErr: true},
		{name: "missing time range is refused", hours: "Mon-Fri", wantErr: true},
		{name: "overnight range is refused", hours: "Mon 22:00-02:00", wantErr: true},
		{name: "empty range is refused", hours: "Mon 09:00-09:00", wantErr: true},
		{name: "bad minutes are refused", hours: "Mon 09:60-10:00", wantErr: true},
		{name: "after midnight is refused", hours: "Mon 09:00-24:30", wantErr: true},
		{name: "one-digit minutes are refused", hours: "Mon 09:0-10:00", wantErr: true},
		{name: "a day twice is refused", hours: "Mon-Fri 09:00-17:00; Fri 10:00-12:00", wantErr: true},
		{name: "only separators are refused", hours: " ; ", wantErr: true},
		{name: "unknown zone is refused", hours: "Mon 09:00-10:00", zone: "Mars/Olympus", wantErr: true},
		{name: "bad holiday is refused", holidays: "25/12/2026", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBusinessHours(tt.hours, tt.zone, tt.holidays)
			if tt.wantErr {
				if !errors.Is(err, ErrBadHours) {
					t.Fatalf("err %v, want ErrBadHours", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got != nil {
					t.Fatalf("got %+v, want nil (always open)", got)
				}
				return
			}
			if len(got.Open) != len(tt.want) || len(got.Holidays) != tt.wantHolidays {
				t.Fatalf("open %v holidays %v", got.Open, got.Holidays)
			}
			for d, s := range tt.want {
				if got.Open[d] != s {
					t.Errorf("%s: %v, want %v", d, got.Open[d], s)
				}
			}
		})
	}
}

func TestParseBusinessHours_ZoneAndHolidaysApply(t *testing.T) {
	bh, err := ParseBusinessHours("Mon-Fri 09:00-17:30", "Europe/London", "2026-12-25")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"09:30 London in summer is 08:30 UTC: open", time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC), true},
		{"17:45 London in summer is 16:45 UTC: closed", time.Date(2026, 7, 1, 16, 45, 0, 0, time.UTC), false},
		{"christmas day is a holiday", time.Date(2026, 12, 25, 11, 0, 0, 0, time.UTC), false},
		{"a saturday is closed", time.Date(2026, 12, 26, 11, 0, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bh.IsOpen(tt.at); got != tt.want {
				t.Fatalf("IsOpen = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStageMaxMisses(t *testing.T) {
	tests := []struct {
		in      string
		want    map[bot.Stage]int
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "purchase=1", want: map[bot.Stage]int{bot.StagePurchase: 1}},
		{in: "purchase=1, consideration=3;post_purchase=2", want: map[bot.Stage]int{bot.StagePurchase: 1, bot.StageConsideration: 3, bot.StagePostPurchase: 2}},
		{in: "happy=1", wantErr: true},
		{in: "purchase", wantErr: true},
		{in: "purchase=0", wantErr: true},
		{in: "purchase=x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStageMaxMisses(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
