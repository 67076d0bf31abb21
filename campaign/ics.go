package campaign

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"mxdesk/store"
)

// eventTime is the layout of --ics start= and end=.
const eventTime = "2006-01-02T15:04"

// ParseEvent parses --ics: "title=...;start=2026-12-10T10:00;end=...;
// organizer=...[;location=...][;description=...]", each value may hold
// ${column} variables (start and end may not). tzid is the queue's time
// zone, in which start and end are read.
func ParseEvent(spec, tzid string) (*store.CampaignEvent, error) {
	ev := &store.CampaignEvent{TZID: tzid}
	fields := map[string]*string{"title": &ev.Title, "start": &ev.Start, "end": &ev.End, "organizer": &ev.Organizer,
		"location": &ev.Location, "description": &ev.Description}
	for _, part := range strings.Split(spec, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		dst := fields[strings.ToLower(strings.TrimSpace(k))]
		if !ok || dst == nil {
			return nil, fmt.Errorf("--ics: %q: want key=value with key title, start, end, organizer, location or description", part)
		}
		*dst = strings.TrimSpace(v)
	}
	for _, req := range []string{"title", "start", "end", "organizer"} {
		if *fields[req] == "" {
			return nil, fmt.Errorf("--ics: %s= is required (e.g. --ics \"title=Meeting with ${name};start=2026-12-10T10:00;end=2026-12-10T10:30;organizer=support@example.com\")", req)
		}
	}
	start, end, err := eventTimes(ev)
	if err != nil {
		return nil, err
	}
	if !end.After(start) {
		return nil, fmt.Errorf("--ics: end=%s is not after start=%s", ev.End, ev.Start)
	}
	return ev, nil
}

func eventLocation(ev *store.CampaignEvent) (*time.Location, error) {
	loc, err := time.LoadLocation(ev.TZID)
	if err != nil {
		return nil, fmt.Errorf("--ics: time zone %q: %w", ev.TZID, err)
	}
	return loc, nil
}

// times reads start and end in the event's zone.
func eventTimes(ev *store.CampaignEvent) (start, end time.Time, err error) {
	loc, err := eventLocation(ev)
	if err != nil {
		return start, end, err
	}
	if start, err = time.ParseInLocation(eventTime, ev.Start, loc); err != nil {
		return start, end, fmt.Errorf("--ics: start=%q: want YYYY-MM-DDTHH:MM, e.g. 2026-12-10T10:00", ev.Start)
	}
	if end, err = time.ParseInLocation(eventTime, ev.End, loc); err != nil {
		return start, end, fmt.Errorf("--ics: end=%q: want YYYY-MM-DDTHH:MM, e.g. 2026-12-10T10:30", ev.End)
	}
	return start, end, nil
}

// invitation is the iCalendar REQUEST (RFC 5546) of ev for one
// recipient: UID per recipient (campaign, row), ORGANIZER and the
// recipient as ATTENDEE, DTSTART/DTEND with TZID and its VTIMEZONE, the
// texts with the row's variables.
func invitation(ev *store.CampaignEvent, uid, attendee string, fill func(string) string, now time.Time) ([]byte, error) {
	start, end, err := eventTimes(ev)
	if err != nil {
		return nil, err
	}
	cal := ical.NewCalendar()
	cal.Props.SetText(ical.PropProductID, "-//mxdesk//campaign//EN")
	cal.Props.SetText(ical.PropVersion, "2.0")
	cal.Props.SetText(ical.PropMethod, "REQUEST")
	cal.Children = append(cal.Children, vtimezone(start.Location(), start, end))
	e := ical.NewEvent()
	e.Props.SetText(ical.PropUID, uid)
	e.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	e.Props.SetDateTime(ical.PropDateTimeStart, start)
	e.Props.SetDateTime(ical.PropDateTimeEnd, end)
	e.Props.SetText(ical.PropSummary, fill(ev.Title))
	if ev.Location != "" {
		e.Props.SetText(ical.PropLocation, fill(ev.Location))
	}
	if ev.Description != "" {
		e.Props.SetText(ical.PropDescription, fill(ev.Description))
	}
	e.Props.SetText(ical.PropSequence, "0")
	e.Props.SetText(ical.PropStatus, "CONFIRMED")
	org := ical.NewProp(ical.PropOrganizer)
	org.SetValueType(ical.ValueCalendarAddress)
	org.Value = "mailto:" + fill(ev.Organizer)
	e.Props.Set(org)
	att := ical.NewProp(ical.PropAttendee)
	att.SetValueType(ical.ValueCalendarAddress)
	att.Value = "mailto:" + attendee
	att.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
	att.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
	att.Params.Set(ical.ParamRSVP, "TRUE")
	e.Props.Set(att)
	cal.Children = append(cal.Children, e.Component)
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, fmt.Errorf("campaign: encode the invitation: %w", err)
	}
	return buf.Bytes(), nil
}

// vtimezone describes loc around the event (RFC 5545 3.6.5): each
// offset change of the event's years as an observance of its own, or
// one STANDARD observance for a zone without changes.
func vtimezone(loc *time.Location, start, end time.Time) *ical.Component {
	tz := ical.NewComponent(ical.CompTimezone)
	tz.Props.SetText(ical.PropTimezoneID, loc.String())
	from := time.Date(start.Year(), 1, 1, 0, 0, 0, 0, loc)
	to := time.Date(end.Year()+1, 1, 1, 0, 0, 0, 0, loc)
	changes := transitions(from, to)
	if len(changes) == 0 {
		name, off := start.Zone()
		tz.Children = append(tz.Children, observance(ical.CompTimezoneStandard, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), name, off, off))
		return tz
	}
	for _, t := range changes {
		_, before := t.Add(-time.Second).Zone()
		name, after := t.Zone()
		kind := ical.CompTimezoneStandard
		if t.IsDST() {
			kind = ical.CompTimezoneDaylight
		}
		// DTSTART is the wall time before the change (RFC 5545 3.6.5).
		local := t.UTC().Add(time.Duration(before) * time.Second)
		tz.Children = append(tz.Children, observance(kind, local, name, before, after))
	}
	return tz
}

func observance(kind string, local time.Time, name string, from, to int) *ical.Component {
	o := ical.NewComponent(kind)
	p := ical.NewProp(ical.PropDateTimeStart)
	p.SetValueType(ical.ValueDateTime)
	p.Value = local.Format("20060102T150405")
	o.Props.Set(p)
	o.Props.SetText(ical.PropTimezoneOffsetFrom, utcOffset(from))
	o.Props.SetText(ical.PropTimezoneOffsetTo, utcOffset(to))
	o.Props.SetText(ical.PropTimezoneName, name)
	return o
}

func utcOffset(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return fmt.Sprintf("%s%02d%02d", sign, sec/3600, sec/60%60)
}

// transitions lists the instants in [from, to) where the zone's offset
// changes, found by day and then to the second.
func transitions(from, to time.Time) []time.Time {
	var out []time.Time
	_, prev := from.Zone()
	for t := from; t.Before(to); t = t.Add(24 * time.Hour) {
		next := t.Add(24 * time.Hour)
		if _, off := next.Zone(); off != prev {
			lo, hi := t, next
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, o := mid.Zone(); o == prev {
					lo = mid
				} else {
					hi = mid
				}
			}
			out = append(out, hi.Truncate(time.Second))
			prev = off
		}
	}
	return out
}
