package config

import (
	_ "time/tzdata" // the DST cases need their zones on any machine

	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// hoursOf parses base with a [queue.hours] table for the Support queue.
func hoursOf(t *testing.T, table string) *Hours {
	t.Helper()
	c, errs := parse(t, edit(t, "auto_assign = true", "auto_assign = true\nbusiness_hours_only = true\n[queue.hours]\n"+table))
	if errs != nil {
		t.Fatalf("config with hours:\n%s\n%v", table, errs)
	}
	return &c.Queue[0].Hours
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

type openCase struct {
	at   string // local time in the schedule's zone, "2006-01-02 15:04"
	want bool
}

func checkOpen(t *testing.T, h *Hours, cases []openCase) {
	t.Helper()
	for _, c := range cases {
		at, err := time.ParseInLocation("2006-01-02 15:04", c.at, h.Location())
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Open(at); got != c.want {
			t.Errorf("Open(%s %s) = %v, want %v", c.at, at.Format("MST"), got, c.want)
		}
		// Open depends on the instant, not on the zone of t.
		if got := h.Open(at.UTC()); got != c.want {
			t.Errorf("Open(%s as UTC) = %v, want %v", c.at, got, c.want)
		}
	}
}

func TestHoursWeek(t *testing.T) {
	h := hoursOf(t, `timezone = "Europe/Rome"
mon = "09:00-12:00, 13:00-17:00"
tue = "09:00-17:00"
wed = "00:00-24:00"
thu = "9:00 - 17:00"
fri = "09:00-17:00"
`)
	// 2026-06-01 is a Monday.
	checkOpen(t, h, []openCase{
		{"2026-06-01 08:59", false},
		{"2026-06-01 09:00", true},
		{"2026-06-01 11:59", true},
		{"2026-06-01 12:00", false},
		{"2026-06-01 12:59", false},
		{"2026-06-01 13:00", true},
		{"2026-06-01 16:59", true},
		{"2026-06-01 17:00", false},
		{"2026-06-02 09:00", true},
		{"2026-06-02 23:59", false},
		{"2026-06-03 00:00", true}, // all day
		{"2026-06-03 12:00", true},
		{"2026-06-03 23:59", true},
		{"2026-06-04 00:00", false},
		{"2026-06-04 09:00", true},
		{"2026-06-05 16:59", true},
		{"2026-06-06 12:00", false}, // weekend closed
		{"2026-06-07 12:00", false},
	})
	if got := h.Location().String(); got != "Europe/Rome" {
		t.Errorf("Location() = %s", got)
	}
}

// "09:00-17:00" is local time on both sides of a DST change.
func TestHoursAcrossDST(t *testing.T) {
	h := hoursOf(t, `timezone = "Europe/Rome"
sat = "09:00-17:00"
sun = "09:00-17:00"
mon = "09:00-17:00"
`)
	rome := mustLoc(t, "Europe/Rome")
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		at   time.Time
		want bool
	}{
		// Saturday 2026-03-28, CET (UTC+1).
		{utc("2026-03-28 07:59"), false},
		{utc("2026-03-28 08:00"), true},
		{utc("2026-03-28 15:59"), true},
		{utc("2026-03-28 16:00"), false},
		// Sunday 2026-03-29: the clocks go forward at 02:00; CEST (UTC+2).
		{utc("2026-03-29 06:59"), false},
		{utc("2026-03-29 07:00"), true},
		{utc("2026-03-29 14:59"), true},
		{utc("2026-03-29 15:00"), false},
		// Saturday 2026-10-24, CEST.
		{utc("2026-10-24 06:59"), false},
		{utc("2026-10-24 07:00"), true},
		{utc("2026-10-24 15:00"), false},
		// Sunday 2026-10-25: the clocks go back at 03:00; CET.
		{utc("2026-10-25 07:59"), false},
		{utc("2026-10-25 08:00"), true},
		{utc("2026-10-25 15:59"), true},
		{utc("2026-10-25 16:00"), false},
	}
	for _, tt := range tests {
		if got := h.Open(tt.at); got != tt.want {
			t.Errorf("Open(%s = %s) = %v, want %v", tt.at.Format(time.RFC3339), tt.at.In(rome).Format("15:04 MST"), got, tt.want)
		}
	}
	next := []struct{ from, want time.Time }{
		{utc("2026-03-28 17:00"), utc("2026-03-29 07:00")}, // Sat evening → Sun 09:00 CEST
		{utc("2026-10-24 16:00"), utc("2026-10-25 08:00")}, // Sat evening → Sun 09:00 CET
		{utc("2026-03-29 15:00"), utc("2026-03-30 07:00")},
	}
	for _, tt := range next {
		got, ok := h.NextOpen(tt.from)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("NextOpen(%s) = %s, %v; want %s", tt.from.Format(time.RFC3339), got.UTC().Format(time.RFC3339), ok, tt.want.Format(time.RFC3339))
		}
	}
}

// Ranges that start in the skipped or the repeated hour of a DST change.
func TestHoursRangeInDSTChange(t *testing.T) {
	h := hoursOf(t, `timezone = "Europe/Rome"
sun = "02:30-05:00"
`)
	utc := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }
	tests := []struct {
		name       string
		from, want time.Time
	}{
		// 2026-03-29: 02:00 CET is followed by 03:00 CEST, at 01:00Z; 02:30
		// never shows, and the clock jumps into the range at 03:00.
		{"spring, before", utc("2026-03-28 23:00"), utc("2026-03-29 01:00")},
		// 2026-10-25: 03:00 CEST is followed by 02:00 CET, at 01:00Z; 02:30
		// shows twice, first at 00:30Z.
		{"autumn, before", utc("2026-10-24 22:00"), utc("2026-10-25 00:30")},
		// Back to 02:00-02:29 CET: closed again until 02:30 CET.
		{"autumn, repeated hour", utc("2026-10-25 01:10"), utc("2026-10-25 01:30")},
	}
	for _, tt := range tests {
		got, ok := h.NextOpen(tt.from)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("%s: NextOpen(%s) = %s, %v; want %s", tt.name, tt.from.Format(time.RFC3339), got.UTC().Format(time.RFC3339), ok, tt.want.Format(time.RFC3339))
		}
	}
	if h.Open(utc("2026-10-25 01:10")) {
		t.Error("open at 02:10 CET, before the range")
	}
	if !h.Open(utc("2026-10-25 00:59")) {
		t.Error("closed at 02:59 CEST, in the range")
	}
}

func TestHoursHolidays(t *testing.T) {
	h := hoursOf(t, `timezone = "Europe/Rome"
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
holidays = ["2026-12-25", "2026-12-28", " 2027-01-01 "]
`)
	checkOpen(t, h, []openCase{
		{"2026-12-24 10:00", true},
		{"2026-12-25 10:00", false}, // Friday, holiday
		{"2026-12-28 10:00", false}, // Monday, holiday
		{"2026-12-29 10:00", true},
		{"2027-01-01 10:00", false},
	})
	rome := mustLoc(t, "Europe/Rome")
	from := time.Date(2026, 12, 24, 17, 30, 0, 0, rome)
	want := time.Date(2026, 12, 29, 9, 0, 0, 0, rome) // over Christmas, the weekend and a holiday Monday
	if got, ok := h.NextOpen(from); !ok || !got.Equal(want) {
		t.Errorf("NextOpen(%s) = %s, %v; want %s", from, got, ok, want)
	}
}

func TestHoursNextOpen(t *testing.T) {
	h := hoursOf(t, `timezone = "America/New_York"
mon = "09:00-12:00, 13:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
`)
	ny := mustLoc(t, "America/New_York")
	at := func(d, hh, mm int) time.Time { return time.Date(2026, 6, d, hh, mm, 0, 0, ny) }
	tests := []struct {
		name       string
		from, want time.Time
	}{
		{"open now", at(2, 10, 0), at(2, 10, 0)},
		{"open now, mid-minute", at(2, 10, 0).Add(30 * time.Second), at(2, 10, 0).Add(30 * time.Second)},
		{"before opening", at(2, 7, 0), at(2, 9, 0)},
		{"lunch break", at(1, 12, 30), at(1, 13, 0)},
		{"at closing", at(2, 17, 0), at(3, 9, 0)},
		{"friday evening", at(5, 17, 1), at(8, 9, 0)},
		{"weekend", at(6, 12, 0), at(8, 9, 0)},
		{"other zone", at(6, 12, 0).UTC(), at(8, 9, 0)},
	}
	for _, tt := range tests {
		got, ok := h.NextOpen(tt.from)
		if !ok || !got.Equal(tt.want) {
			t.Errorf("%s: NextOpen(%s) = %s, %v; want %s", tt.name, tt.from, got, ok, tt.want)
		}
	}
}

func TestHoursEmptyIsAlwaysOpen(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil {
		t.Fatal(errs)
	}
	h := &c.Queue[0].Hours
	now := time.Date(2026, 12, 25, 3, 4, 5, 0, time.UTC)
	for i := range 7 * 24 {
		if at := now.Add(time.Duration(i) * time.Hour); !h.Open(at) {
			t.Fatalf("empty schedule closed at %s", at)
		}
	}
	if got, ok := h.NextOpen(now); !ok || !got.Equal(now) {
		t.Errorf("NextOpen = %s, %v; want now", got, ok)
	}
	if got := h.Location().String(); got != "Europe/Rome" {
		t.Errorf("Location() = %s, want the top-level timezone", got)
	}
	if c.Queue[0].Hours.Timezone != "Europe/Rome" {
		t.Errorf("hours.timezone = %q, want the top-level timezone", c.Queue[0].Hours.Timezone)
	}
	var zero Hours
	if !zero.Open(now) || zero.Location() != time.UTC {
		t.Error("the zero Hours is not an always open schedule in UTC")
	}
}

func TestHoursNeverOpen(t *testing.T) {
	// Only Mondays, and every Monday for two years is a holiday.
	h := &Hours{loc: time.UTC, holidays: map[int]bool{}}
	h.spans[time.Monday] = []span{{9 * 60, 17 * 60}}
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday
	for d := start; d.Before(start.AddDate(2, 0, 0)); d = d.AddDate(0, 0, 7) {
		h.holidays[dateKey(d.Date())] = true
	}
	if got, ok := h.NextOpen(start); ok {
		t.Errorf("NextOpen = %s, want never", got)
	}
}

// NextOpen agrees with a minute-by-minute search around DST changes, in
// zones that change by an hour, by half an hour, or not at all.
func TestHoursNextOpenBruteForce(t *testing.T) {
	schedules := []string{
		"sun = \"02:30-05:00\"\nmon = \"00:00-01:00, 23:00-24:00\"\nsat = \"01:45-02:15\"",
		"sun = \"00:00-24:00\"\nmon = \"00:30-01:00\"",
		"sun = \"01:00-02:00, 02:00-02:30, 03:00-03:10\"\nmon = \"09:00-17:00\"",
	}
	zones := []struct {
		name   string
		around []time.Time // Saturdays before DST changes, 00:00 UTC
	}{
		{"Europe/Rome", []time.Time{date(2026, 3, 28), date(2026, 10, 24)}},
		{"America/New_York", []time.Time{date(2026, 3, 7), date(2026, 10, 31)}},
		{"Australia/Lord_Howe", []time.Time{date(2026, 4, 4), date(2026, 10, 3)}},
		{"Asia/Kolkata", []time.Time{date(2026, 3, 28)}},
	}
	for _, z := range zones {
		mustLoc(t, z.name)
		for _, s := range schedules {
			h := hoursOf(t, fmt.Sprintf("timezone = %q\n%s\n", z.name, s))
			for _, a := range z.around {
				for step := 0; step < 2*24*6; step++ {
					from := a.Add(time.Duration(step) * 10 * time.Minute)
					want := from
					for !h.Open(want) {
						want = want.Add(time.Minute)
					}
					if got, ok := h.NextOpen(from); !ok || !got.Equal(want) {
						t.Fatalf("%s, %q: NextOpen(%s) = %s, %v; want %s", z.name, s, from.Format(time.RFC3339), got.UTC().Format(time.RFC3339), ok, want.Format(time.RFC3339))
					}
				}
			}
		}
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseDay(t *testing.T) {
	tests := []struct {
		in   string
		want []span
		err  string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"09:00-17:00", []span{{540, 1020}}, ""},
		{"9:00-17:00", []span{{540, 1020}}, ""},
		{" 09:00 - 12:00 ,13:00-17:30 ", []span{{540, 720}, {780, 1050}}, ""},
		{"00:00-24:00", []span{{0, 1440}}, ""},
		{"09:00-12:00, 12:00-13:00", []span{{540, 720}, {720, 780}}, ""},
		{"09:00", nil, "not a range"},
		{"09-17", nil, `"09" is not a time`},
		{"09:00-17", nil, `"17" is not a time`},
		{"9.00-17.00", nil, "is not a time"},
		{"09:00-25:00", nil, `"25:00" is not a time`},
		{"09:60-17:00", nil, "is not a time"},
		{"24:00-24:00", nil, "end must be after the start"},
		{"24:01-24:00", nil, "is not a time"},
		{"009:00-17:00", nil, "is not a time"},
		{"+9:00-17:00", nil, "is not a time"},
		{"17:00-09:00", nil, "end must be after the start"},
		{"22:00-02:00", nil, "cannot cross midnight"},
		{"09:00-09:00", nil, "end must be after the start"},
		{"09:00-12:00,", nil, "empty range"},
		{"09:00-12:00,,13:00-14:00", nil, "empty range"},
		{"13:00-17:00, 09:00-12:00", nil, "in order"},
		{"09:00-13:00, 12:00-17:00", nil, "not overlap"},
		{"09:00-17:00-18:00", nil, "is not a time"},
	}
	for _, tt := range tests {
		got, err := parseDay(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("parseDay(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("parseDay(%q) error = %v, want %q", tt.in, err, tt.err)
		case !slices.Equal(got, tt.want):
			t.Errorf("parseDay(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// formatDay writes spans back in the syntax parseDay reads.
func formatDay(spans []span) string {
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = fmt.Sprintf("%02d:%02d-%02d:%02d", s.from/60, s.from%60, s.to/60, s.to%60)
	}
	return strings.Join(parts, ", ")
}

func FuzzDaySchedule(f *testing.F) {
	for _, s := range []string{
		"", "09:00-17:00", "9:00-17:00", "09:00-12:00, 13:00-17:00", "00:00-24:00",
		"00:00-00:01,23:59-24:00", "17:00-09:00", "09:00-12:00,", "24:00-24:00",
		"09:00-13:00, 12:00-17:00", " 08:30 - 12:15 , 14:00-18:45 ", "9:0-17:00",
		"٠٩:٠٠-١٧:٠٠", "09:00-17:00\x00", "-", ",", ":-:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spans, err := parseDay(s)
		if err != nil {
			if spans != nil || err.Error() == "" {
				t.Fatalf("parseDay(%q) = %v, %v", s, spans, err)
			}
			return
		}
		prev := 0
		for _, sp := range spans {
			if sp.from < prev || sp.to <= sp.from || sp.to > 24*60 {
				t.Fatalf("parseDay(%q) = %v: out of order, empty or out of the day", s, spans)
			}
			prev = sp.to
		}
		again, err := parseDay(formatDay(spans))
		if err != nil || !slices.Equal(again, spans) {
			t.Fatalf("parseDay(%q) = %v, but its formatted form %q gives %v, %v", s, spans, formatDay(spans), again, err)
		}
	})
}
