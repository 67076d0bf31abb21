package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Open reports whether the schedule is open at t (in the schedule's time
// zone; holidays are closed all day). An empty schedule (no day set) is
// always open. Parse fills the parsed form; a Hours built by hand must go
// through Parse first.
func (h *Hours) Open(t time.Time) bool {
	if h.empty() {
		return true
	}
	lt := t.In(h.Location())
	if h.holidays[dateKey(lt.Date())] {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, s := range h.spans[lt.Weekday()] {
		if m >= s.from && m < s.to {
			return true
		}
	}
	return false
}

// maxSearchDays bounds NextOpen.
const maxSearchDays = 400

// NextOpen returns the first moment at or after t when the schedule is
// open, searching at most 400 days ahead (ok false: never open).
func (h *Hours) NextOpen(t time.Time) (time.Time, bool) {
	if h.Open(t) {
		return t, true
	}
	y, m, d := t.In(h.Location()).Date()
	for i := 0; i <= maxSearchDays; i++ {
		if o, ok := h.firstOpening(y, m, d+i, t); ok {
			return o, true
		}
	}
	return time.Time{}, false
}

// firstOpening returns the earliest moment of the local day y-m-d, not
// before t, at which the schedule is open. The schedule opens either when
// the local clock reaches the start of a range (a wall time that a DST
// change may skip or repeat) or when a DST change moves the clock into a
// range: every such instant is a candidate, and the earliest open one wins.
func (h *Hours) firstOpening(y int, m time.Month, d int, t time.Time) (time.Time, bool) {
	loc := h.Location()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	y, m, d = day.Date() // normalized: d may be past the end of the month
	spans := h.spans[day.Weekday()]
	if len(spans) == 0 || h.holidays[dateKey(y, m, d)] {
		return time.Time{}, false
	}
	next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	cands := []time.Time{day}
	for _, s := range spans {
		cands = append(cands, wallTimes(y, m, d, s.from, loc)...)
	}
	for at := day; ; {
		_, end := at.ZoneBounds()
		if end.IsZero() || !end.Before(next) || !end.After(at) {
			break
		}
		cands = append(cands, end)
		at = end
	}
	var best time.Time
	for _, c := range cands {
		cy, cm, cd := c.In(loc).Date()
		if c.Before(t) || cy != y || cm != m || cd != d || !h.Open(c) {
			continue
		}
		if best.IsZero() || c.Before(best) {
			best = c
		}
	}
	return best, !best.IsZero()
}

// wallTimes returns every instant at which the clock of loc shows the
// minute of day min on y-m-d: none in a gap of a DST change, two in a
// repeated hour.
func wallTimes(y int, m time.Month, d, min int, loc *time.Location) []time.Time {
	c := time.Date(y, m, d, min/60, min%60, 0, 0, loc)
	offsets := []int{zoneOffset(c)}
	start, end := c.ZoneBounds()
	if !start.IsZero() {
		offsets = append(offsets, zoneOffset(start.Add(-time.Second)))
	}
	if !end.IsZero() {
		offsets = append(offsets, zoneOffset(end))
	}
	wall := time.Date(y, m, d, min/60, min%60, 0, 0, time.UTC)
	var out []time.Time
	for _, off := range offsets {
		at := wall.Add(-time.Duration(off) * time.Second).In(loc)
		ay, am, ad := at.Date()
		if ay == y && am == m && ad == d && at.Hour()*60+at.Minute() == min {
			out = append(out, at)
		}
	}
	return out
}

func zoneOffset(t time.Time) int {
	_, off := t.Zone()
	return off
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location {
	if h.loc != nil {
		return h.loc
	}
	return time.UTC
}

// empty reports whether no day has opening hours.
func (h *Hours) empty() bool {
	for _, s := range h.spans {
		if len(s) > 0 {
			return false
		}
	}
	return true
}

// days returns the day keys of the schedule with their values, by
// time.Weekday.
func (h *Hours) days() [7]struct{ key, value string } {
	return [7]struct{ key, value string }{
		{"sun", h.Sun}, {"mon", h.Mon}, {"tue", h.Tue}, {"wed", h.Wed},
		{"thu", h.Thu}, {"fri", h.Fri}, {"sat", h.Sat},
	}
}

func dateKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

// checkHours parses the [queue.hours] of the queue at qkey into their
// run-time form, so that Open and NextOpen never parse. top is the
// top-level time zone, the default.
func (p *parser) checkHours(qkey string, q *Queue, top *time.Location) {
	h, key := &q.Hours, qkey+".hours"
	h.loc = top
	if h.Timezone == "" {
		h.Timezone = p.cfg.Timezone
	} else if loc, err := time.LoadLocation(h.Timezone); err != nil {
		p.errorf(key+".timezone", "unknown time zone %q (want an IANA name such as \"Europe/Rome\" or \"UTC\")", h.Timezone)
	} else {
		h.loc = loc
	}
	for wd, day := range h.days() {
		spans, err := parseDay(day.value)
		if err != nil {
			p.errorf(key+"."+day.key, "%q: %v", day.value, err)
		}
		h.spans[wd] = spans
	}
	h.holidays = map[int]bool{}
	for i, s := range h.Holidays {
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
		if err != nil {
			p.errorf(fmt.Sprintf("%s.holidays[%d]", key, i), "%q is not a date: want YYYY-MM-DD, e.g. \"2026-12-25\"", s)
			continue
		}
		h.holidays[dateKey(d.Date())] = true
	}
	if q.BusinessHoursOnly && h.empty() && !p.hasErrorUnder(key) {
		p.errorf(qkey+".business_hours_only", "needs opening hours, but no day of [queue.hours] has a range (e.g. mon = \"09:00-17:00\"): a schedule without any counts as always open, so business_hours_only would change nothing; set the open days (\"00:00-24:00\" for all day) or remove business_hours_only")
	}
}

// hasErrorUnder reports whether a problem was recorded for key or a key
// inside it.
func (p *parser) hasErrorUnder(key string) bool {
	for _, e := range p.errs {
		if e.Key == key || strings.HasPrefix(e.Key, key+".") {
			return true
		}
	}
	return false
}

// parseDay parses one day of a weekly schedule: "" (closed), or ranges
// "HH:MM-HH:MM" separated by commas, in order and not overlapping. The end
// of a range may be 24:00 (midnight at the end of the day).
func parseDay(s string) ([]span, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var spans []span
	prev := ""
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		sp, err := parseRange(part)
		if err != nil {
			return nil, err
		}
		if n := len(spans); n > 0 && sp.from < spans[n-1].to {
			return nil, fmt.Errorf("%q starts before %q ends: ranges must be in order and not overlap", part, prev)
		}
		spans, prev = append(spans, sp), part
	}
	return spans, nil
}

func parseRange(r string) (span, error) {
	if r == "" {
		return span{}, fmt.Errorf("empty range (a stray comma?): want HH:MM-HH:MM, e.g. \"09:00-17:00\"")
	}
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return span{}, fmt.Errorf("%q is not a range: want HH:MM-HH:MM, e.g. \"09:00-17:00\"", r)
	}
	from, err := parseClock(strings.TrimSpace(a))
	if err != nil {
		return span{}, err
	}
	to, err := parseClock(strings.TrimSpace(b))
	if err != nil {
		return span{}, err
	}
	if to <= from {
		return span{}, fmt.Errorf("%q: the end must be after the start (a range cannot cross midnight: end it at 24:00 and go on from 00:00 the next day)", r)
	}
	return span{from, to}, nil
}

// parseClock parses "HH:MM" (or "H:MM") from 00:00 to 24:00 into minutes.
func parseClock(s string) (int, error) {
	bad := fmt.Errorf("%q is not a time: want HH:MM from 00:00 to 24:00", s)
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 || !isDigits(hh) || !isDigits(mm) {
		return 0, bad
	}
	h, _ := strconv.Atoi(hh)
	m, _ := strconv.Atoi(mm)
	if h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, bad
	}
	return h*60 + m, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
