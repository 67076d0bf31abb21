package config

import (
	"strings"
	"testing"
	"time"
)

// The service-level keys are validated with their key and line.
func TestServiceLevelValidation(t *testing.T) {
	tests := []struct {
		name, set, key, msg string
	}{
		{"service_level alone", "service_level = 0.8", "queue[0].service_level", "needs service_level_within too"},
		{"within alone", `service_level_within = "2h"`, "queue[0].service_level_within", "needs service_level too"},
		{"service_level zero", "service_level = 0\nservice_level_within = \"2h\"", "queue[0].service_level", "above 0 and at most 1"},
		{"service_level above 1", "service_level = 80\nservice_level_within = \"2h\"", "queue[0].service_level", "not 80"},
		{"within zero", "service_level = 0.8\nservice_level_within = \"0s\"", "queue[0].service_level_within", "positive duration"},
		{"alarm_waiting negative", "alarm_waiting = -1", "queue[0].alarm_waiting", "not -1"},
		{"alarm_oldest negative", `alarm_oldest = "-30m"`, "queue[0].alarm_oldest", `not "-30m0s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := edit(t, `auto_assign = true`, "auto_assign = true\n"+tt.set)
			_, errs := parse(t, doc)
			line := 0
			for i, l := range strings.Split(doc, "\n") {
				if line == 0 && strings.HasPrefix(l, strings.TrimPrefix(tt.key, "queue[0].")+" =") {
					line = i + 1
				}
			}
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if e.Line != line {
						t.Errorf("%s reported at line %d, want %d", tt.key, e.Line, line)
					}
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
	c, errs := parse(t, edit(t, `auto_assign = true`, "auto_assign = true\nservice_level = 0.8\nservice_level_within = \"2h\"\nalarm_waiting = 5\nalarm_oldest = \"30m\""))
	if errs != nil {
		t.Fatal(errs)
	}
	q := c.Queue[0]
	if !q.HasServiceLevel() || q.ServiceLevel != 0.8 || q.ServiceLevelWithin.Duration != 2*time.Hour || q.AlarmWaiting != 5 || q.AlarmOldest.Duration != 30*time.Minute {
		t.Errorf("parsed %+v", q)
	}
}

// AddOpen counts only open time: 2 h from Friday 16:00 in a 9-17
// weekday schedule end Monday 10:00; from a closed evening, 10:00 the
// next morning; across a lunch break the break is skipped.
func TestHoursAddOpen(t *testing.T) {
	h := hoursOf(t, `timezone = "Europe/Rome"
mon = "09:00-12:00, 13:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
holidays = ["2026-03-10"]`)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, h.Location())
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		from string
		d    time.Duration
		want string
	}{
		{"2026-03-06 16:00", 2 * time.Hour, "2026-03-09 10:00"},    // Friday → Monday
		{"2026-03-03 20:00", time.Hour, "2026-03-04 10:00"},        // Tuesday evening
		{"2026-03-02 11:30", time.Hour, "2026-03-02 13:30"},        // Monday lunch break
		{"2026-03-09 16:30", time.Hour, "2026-03-11 09:30"},        // Tuesday the 10th is a holiday
		{"2026-03-04 10:00", 30 * time.Minute, "2026-03-04 10:30"}, // open all along
	} {
		got, ok := h.AddOpen(at(c.from), c.d)
		if !ok || !got.Equal(at(c.want)) {
			t.Errorf("AddOpen(%s, %s) = %s, %v; want %s", c.from, c.d, got.In(h.Location()).Format("2006-01-02 15:04 Mon"), ok, c.want)
		}
	}
	var always Hours
	if got, _ := always.AddOpen(at("2026-03-07 23:00"), 2*time.Hour); !got.Equal(at("2026-03-08 01:00")) {
		t.Errorf("without hours: %s", got)
	}
}
