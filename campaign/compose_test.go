package campaign

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-message"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// testLetter is a campaign message with an invitation in Europe/Rome.
func testLetter(t *testing.T) letter {
	t.Helper()
	ev, err := ParseEvent("title=Meeting with ${name};start=2026-12-10T10:00;end=2026-12-10T10:30;organizer=${agent};location=Room ${room}", "Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return letter{
		c:   store.Campaign{ID: 7, Columns: []string{"email", "name", "agent", "room"}, ICS: ev},
		tpl: config.Template{Subject: "Welcome ${name}", Body: "Hello ${name}", BodyHTML: "<p>Hello ${name}</p>"},
		row: store.CampaignRecipient{Campaign: 7, Row: 3, Email: "ann@example.com", Values: []string{"ann@example.com", "Ann <&>", "sara@example.test", "4"}},
		now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC), unsubscribe: "https://desk.example.test/u/S-ABCDE/tok",
	}
}

var testIdentity = router.CampaignIdentity{Session: "S-ABCDE", Token: "tok", From: "Support <support@example.test>",
	ReplyTo: "support+tok@example.test", Sender: "support+tok@example.test", Hostname: "mx.example.test"}

// TestInvitationParsesBack: the message carries the invitation as a
// text/calendar; method=REQUEST alternative and as invite.ics, and go-ical
// reads back the row's variables, the per-recipient UID, the attendee and
// the start in Europe/Rome with its VTIMEZONE.
func TestInvitationParsesBack(t *testing.T) {
	raw, err := testLetter(t).compose(testIdentity)
	if err != nil {
		t.Fatal(err)
	}
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"List-Unsubscribe":      "<https://desk.example.test/u/S-ABCDE/tok>, <mailto:support+tok@example.test?subject=unsubscribe>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"Precedence":            "bulk",
		"Reply-To":              "support+tok@example.test",
		"X-Mxdesk-Session":      "S-ABCDE",
		"Auto-Submitted":        "",
	} {
		if got := e.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if s, _ := e.Header.Text("Subject"); s != "Welcome Ann <&>" {
		t.Errorf("Subject = %q", s)
	}
	var calendars []string
	var html string
	e.Walk(func(path []int, p *message.Entity, err error) error {
		mt, params, _ := p.Header.ContentType()
		if strings.HasPrefix(mt, "multipart/") {
			return nil // reading its body would consume its parts
		}
		body, _ := io.ReadAll(p.Body)
		switch {
		case mt == "text/calendar" && params["method"] == "REQUEST":
			calendars = append(calendars, "alternative:"+string(body))
		case mt == "application/ics":
			if disp, dp, _ := p.Header.ContentDisposition(); disp == "attachment" && dp["filename"] == "invite.ics" {
				calendars = append(calendars, "attachment:"+string(body))
			}
		case mt == "text/html":
			html = string(body)
		}
		return nil
	})
	if !strings.Contains(html, "Hello Ann &lt;&amp;&gt;") {
		t.Errorf("the HTML part does not escape the value: %q", html)
	}
	if len(calendars) != 2 {
		t.Fatalf("calendar parts: %d, want the alternative and the attachment", len(calendars))
	}
	for _, c := range calendars {
		where, text, _ := strings.Cut(c, ":")
		checkInvitation(t, where, text)
	}
}

func checkInvitation(t *testing.T, where, text string) {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatalf("%s: %v\n%s", where, err, text)
	}
	if m, _ := cal.Props.Text(ical.PropMethod); m != "REQUEST" {
		t.Errorf("%s: METHOD %q", where, m)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%s: %d events", where, len(evs))
	}
	ev := evs[0]
	text2 := func(name string) string { s, _ := ev.Props.Text(name); return s }
	if got := text2(ical.PropSummary); got != "Meeting with Ann <&>" {
		t.Errorf("%s: SUMMARY %q", where, got)
	}
	if got := text2(ical.PropLocation); got != "Room 4" {
		t.Errorf("%s: LOCATION %q", where, got)
	}
	if got := text2(ical.PropUID); got != "campaign-7-3@mx.example.test" {
		t.Errorf("%s: UID %q", where, got)
	}
	if got := ev.Props.Get(ical.PropOrganizer).Value; got != "mailto:sara@example.test" {
		t.Errorf("%s: ORGANIZER %q", where, got)
	}
	if got := ev.Props.Get(ical.PropAttendee).Value; got != "mailto:ann@example.com" {
		t.Errorf("%s: ATTENDEE %q", where, got)
	}
	start, err := ev.DateTimeStart(nil)
	if err != nil || !start.Equal(time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("%s: DTSTART %v (%v), want 10:00 in Rome = 09:00 UTC", where, start, err)
	}
	if tz := ev.Props.Get(ical.PropDateTimeStart).Params.Get(ical.PropTimezoneID); tz != "Europe/Rome" {
		t.Errorf("%s: DTSTART TZID %q", where, tz)
	}
	var tzs []string
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			id, _ := c.Props.Text(ical.PropTimezoneID)
			for _, o := range c.Children {
				from, _ := o.Props.Text(ical.PropTimezoneOffsetFrom)
				to, _ := o.Props.Text(ical.PropTimezoneOffsetTo)
				tzs = append(tzs, id+" "+o.Name+" "+o.Props.Get(ical.PropDateTimeStart).Value+" "+from+">"+to)
			}
		}
	}
	want := "Europe/Rome DAYLIGHT 20260329T020000 +0100>+0200,Europe/Rome STANDARD 20261025T030000 +0200>+0100"
	if got := strings.Join(tzs, ","); !strings.HasPrefix(got, want) {
		t.Errorf("%s: VTIMEZONE observances %s, want %s first", where, got, want)
	}
}

func TestEventFlags(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"title=x;start=2026-12-10T10:00;end=2026-12-10T09:00;organizer=a@b.c", "is not after start"},
		{"title=x;start=2026-12-10 10:00;end=2026-12-10T11:00;organizer=a@b.c", "start=\"2026-12-10 10:00\": want YYYY-MM-DDTHH:MM"},
		{"title=x;start=2026-12-10T10:00;end=2026-12-10T11:00", "organizer= is required"},
		{"title=x;colour=red", "want key=value with key title"},
	} {
		if _, err := ParseEvent(tt.spec, "UTC"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.spec, err, tt.want)
		}
	}
}
