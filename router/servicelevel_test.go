package router_test

import (
	"testing"
	"time"

	"mxdesk/router"
)

// todayLevel is Sales' service level today: answered in time, counted.
func todayLevel(t *testing.T, r *router.Router) (int, int) {
	t.Helper()
	for _, l := range r.ServiceLevels() {
		if l.Queue == "Sales" && l.Window == router.WindowToday {
			return l.Answered, l.Counted
		}
	}
	t.Fatal("no service level for Sales today")
	return 0, 0
}

// Waiting counts only while the queue's hours are open: two sessions
// arrive Monday at 16:30 with a 2-hour threshold and hours 9-17, so they
// are in time until Tuesday 10:30. The one answered Tuesday at 10:00 is
// answered in time; the other fails at 10:30, not on Monday evening.
func TestServiceLevelBusinessHours(t *testing.T) {
	d := newDeskWith(t, `service_level = 0.8
service_level_within = "2h"
hours = { timezone = "UTC", mon = "09:00-17:00", tue = "09:00-17:00" }
`)
	d.clock.Advance(7*time.Hour + 30*time.Minute) // Monday 16:30
	d.customer(t, "From: carla@customer.test\r\nMessage-ID: <bh1@customer.test>\r\nSubject: one\r\n")
	d.customer(t, "From: carla@customer.test\r\nMessage-ID: <bh2@customer.test>\r\nSubject: two\r\n")

	d.clock.Advance(17*time.Hour + 30*time.Minute) // Tuesday 10:00
	if a, c := todayLevel(t, d.r); c != 0 {
		t.Errorf("Tuesday 10:00: %d/%d counted, want none (1.5 open hours waited)", a, c)
	}
	if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"},
		"From: erin@example.test\r\nTo: carla@customer.test\r\nIn-Reply-To: <bh1@customer.test>\r\nMessage-ID: <bh-r1@desk.test>\r\nSubject: Re: one\r\n\r\nDone.\r\n"); err != nil {
		t.Fatal(err)
	}
	if a, c := todayLevel(t, d.r); a != 1 || c != 1 {
		t.Errorf("after the reply at 10:00: %d/%d, want 1/1", a, c)
	}
	d.clock.Advance(29 * time.Minute)
	if a, c := todayLevel(t, d.r); a != 1 || c != 1 {
		t.Errorf("Tuesday 10:29: %d/%d, want 1/1", a, c)
	}
	d.clock.Advance(time.Minute)
	if a, c := todayLevel(t, d.r); a != 1 || c != 2 {
		t.Errorf("Tuesday 10:30: %d/%d, want 1/2 (the second failed)", a, c)
	}
}
