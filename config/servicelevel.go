package config

import (
	"time"
)

// Service level (issue 19 item 4): a queue's target share of sessions
// answered within a time, and its real-time alarm thresholds.

// HasServiceLevel reports whether the queue measures a service level.
func (q *Queue) HasServiceLevel() bool {
	return q.ServiceLevel > 0 && q.ServiceLevelWithin.Duration > 0
}

// checkServiceLevel checks service_level, service_level_within (both or
// neither), alarm_waiting and alarm_oldest of the queue at key.
func (p *parser) checkServiceLevel(i int, key string, q *Queue) {
	sl, within := p.tableHasKey("queue", i, "service_level"), p.tableHasKey("queue", i, "service_level_within")
	switch {
	case sl && !within:
		p.errorf(key+".service_level", "needs service_level_within too (the time within which sessions count as answered, such as \"2h\")")
	case within && !sl:
		p.errorf(key+".service_level_within", "needs service_level too (the target share, such as 0.8)")
	}
	if sl && (q.ServiceLevel <= 0 || q.ServiceLevel > 1) {
		p.errorf(key+".service_level", "must be a share above 0 and at most 1 (0.8: 80%% answered in time), not %v", q.ServiceLevel)
	}
	if within && q.ServiceLevelWithin.Duration <= 0 {
		p.errorf(key+".service_level_within", "must be a positive duration such as \"2h\", not %q", q.ServiceLevelWithin.Duration)
	}
	if q.AlarmWaiting < 0 {
		p.errorf(key+".alarm_waiting", "must be 0 (off) or a positive number of waiting sessions, not %d", q.AlarmWaiting)
	}
	if q.AlarmOldest.Duration < 0 {
		p.errorf(key+".alarm_oldest", "must be \"0s\" (off) or a positive duration such as \"30m\", not %q", q.AlarmOldest.Duration)
	}
}

// maxOpenSteps bounds AddOpen: one step per opening range.
const maxOpenSteps = 4000

// AddOpen returns the moment when d of the schedule's open time has
// passed since t: waiting counts only while the schedule is open (an
// empty schedule is always open). ok is false when the schedule does not
// open enough within its search horizon.
func (h *Hours) AddOpen(t time.Time, d time.Duration) (time.Time, bool) {
	if h.empty() {
		return t.Add(d), true
	}
	cur := t
	for range maxOpenSteps {
		open, ok := h.NextOpen(cur)
		if !ok {
			return time.Time{}, false
		}
		end := h.closesAt(open)
		if !open.Add(d).After(end) {
			return open.Add(d), true
		}
		d -= end.Sub(open)
		cur = end
	}
	return time.Time{}, false
}

// closesAt is the end of the opening range that t (open) is in.
func (h *Hours) closesAt(t time.Time) time.Time {
	lt := t.In(h.Location())
	y, mo, d := lt.Date()
	m := lt.Hour()*60 + lt.Minute()
	for _, s := range h.spans[lt.Weekday()] {
		if m >= s.from && m < s.to {
			return time.Date(y, mo, d, s.to/60, s.to%60, 0, 0, h.Location())
		}
	}
	return t.Add(time.Minute) // not in a range (a DST edge): move on
}
