package imapmsg

import (
	"strconv"
	"strings"
	"time"
)

// parseDate parses an RFC 5322 §3.3 date-time leniently, accepting the
// obsolete forms of §4.3 (two- and three-digit years, zone names, no
// seconds, comments), a missing zone (taken as +0000), a month before the
// day, and a few formats non-mail software writes (asctime, RFC 3339).
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(stripComments(s))
	if t, ok := parseMailDate(s); ok {
		return t, true
	}
	for _, layout := range []string{time.ANSIC, time.UnixDate, time.RubyDate, time.RFC3339, "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1000 && t.Year() <= 9999 {
			return t, true
		}
	}
	return time.Time{}, false
}

var monthNames = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March,
	"apr": time.April, "may": time.May, "jun": time.June,
	"jul": time.July, "aug": time.August, "sep": time.September,
	"oct": time.October, "nov": time.November, "dec": time.December,
}

// zoneNames are the obs-zone names of RFC 5322 §4.3, in minutes east of UTC.
// Other names (military zones included) mean -0000: no zone information.
var zoneNames = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0, "z": 0,
	"est": -5 * 60, "edt": -4 * 60, "cst": -6 * 60, "cdt": -5 * 60,
	"mst": -7 * 60, "mdt": -6 * 60, "pst": -8 * 60, "pdt": -7 * 60,
}

func parseMailDate(s string) (time.Time, bool) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	if len(f) > 0 && isDayName(f[0]) {
		f = f[1:]
	}
	if len(f) < 3 {
		return time.Time{}, false
	}
	if _, ok := month(f[0]); ok {
		f[0], f[1] = f[1], f[0] // "Jan 2 2006"
	}
	day, err := strconv.Atoi(f[0])
	mon, ok := month(f[1])
	if err != nil || !ok || len(f[0]) > 2 {
		return time.Time{}, false
	}
	year, ok := parseYear(f[2])
	if !ok {
		return time.Time{}, false
	}
	var hour, minute, sec int
	if len(f) > 3 {
		if hour, minute, sec, ok = parseClock(f[3]); !ok {
			return time.Time{}, false
		}
	}
	offset := 0
	if len(f) > 4 {
		offset = parseZone(f[4])
	}
	if day < 1 || day > daysIn(mon, year) {
		return time.Time{}, false
	}
	return time.Date(year, mon, day, hour, minute, sec, 0, time.FixedZone("", offset*60)), true
}

func isDayName(s string) bool {
	if len(s) < 3 {
		return false
	}
	switch strings.ToLower(s[:3]) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun":
		return true
	}
	return false
}

func month(s string) (time.Month, bool) {
	if len(s) < 3 {
		return 0, false
	}
	m, ok := monthNames[strings.ToLower(s[:3])]
	return m, ok
}

// parseYear accepts 4-digit years and the obs-year of RFC 5322 §4.3: a
// two-digit year is 19xx from 50 on, 20xx below; a three-digit one adds 1900.
func parseYear(s string) (int, bool) {
	y, err := strconv.Atoi(s)
	if err != nil || y < 0 || len(s) > 4 {
		return 0, false
	}
	switch len(s) {
	case 1, 2:
		if y < 50 {
			return 2000 + y, true
		}
		return 1900 + y, true
	case 3:
		return 1900 + y, true
	}
	return y, y >= 1000
}

// parseClock parses "hh:mm" or "hh:mm:ss". A leap second becomes :59.
func parseClock(s string) (h, m, sec int, ok bool) {
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 {
		return 0, 0, 0, false
	}
	var v [3]int
	for i, x := range p {
		n, err := strconv.Atoi(x)
		if err != nil || len(x) > 2 || n < 0 {
			return 0, 0, 0, false
		}
		v[i] = n
	}
	if v[0] > 23 || v[1] > 59 || v[2] > 60 {
		return 0, 0, 0, false
	}
	return v[0], v[1], min(v[2], 59), true
}

// parseZone returns the zone offset in minutes; anything it doesn't know is
// -0000 (RFC 5322 §4.3), i.e. 0.
func parseZone(s string) int {
	if off, ok := zoneNames[strings.ToLower(s)]; ok {
		return off
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0
	}
	digits := strings.ReplaceAll(s[1:], ":", "")
	if len(digits) == 2 {
		digits += "00"
	}
	n, err := strconv.Atoi(digits)
	if err != nil || len(digits) != 4 || n%100 > 59 || n/100 > 23 {
		return 0
	}
	off := n/100*60 + n%100
	if s[0] == '-' {
		off = -off
	}
	return off
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
