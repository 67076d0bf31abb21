package config

import "time"

// Open reports whether the schedule is open at t (in the schedule's time
// zone; holidays are closed all day). An empty schedule (no day set) is
// always open. Parse fills the parsed form; a Hours built by hand must go
// through Parse first.
func (h *Hours) Open(t time.Time) bool {
	panic("TODO: helper implements")
}

// NextOpen returns the first moment at or after t when the schedule is
// open, searching at most 400 days ahead (ok false: never open).
func (h *Hours) NextOpen(t time.Time) (time.Time, bool) {
	panic("TODO: helper implements")
}

// Location is the schedule's time zone.
func (h *Hours) Location() *time.Location {
	if h.loc != nil {
		return h.loc
	}
	return time.UTC
}
