package router_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"mxdesk/router"
	"mxdesk/store"
)

// act applies acts to session id as who.
func (d *desk) act(t *testing.T, who, id string, acts ...router.Action) error {
	t.Helper()
	return d.r.Act(ctx, login(t, d.r, who), id, acts...)
}

// where lists the folders of session id as lifecycle.where does.
func (d *desk) where(t *testing.T, id string) string {
	t.Helper()
	return (&lifecycle{r: d.r, id: id}).where(t)
}

func lastEventOf(t *testing.T, r *router.Router, id, kind string) string {
	t.Helper()
	detail := ""
	for _, e := range mustReport(t, r, id).Events {
		if e.Kind == kind {
			detail = e.Actor + ": " + e.Detail
		}
	}
	return detail
}

func TestActResolvePauseClose(t *testing.T) {
	d := newDeskWith(t, "allow_personal_queue = true\n")
	id := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <a1@customer.test>\r\nSubject: act\r\n").Session

	// Resolving a waiting session claims it first, as a move to Resolved.
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActResolve}); err != nil {
		t.Fatal(err)
	}
	if got := d.where(t, id); got != "All/Sales $Resolved, erin:Resolved $Resolved" {
		t.Fatalf("resolved: %s", got)
	}
	if got := lastEventOf(t, d.r, id, "assigned"); got != "erin@example.test: claimed to resolve it" {
		t.Errorf("assigned event: %q", got)
	}
	// Pause is a move to Later.
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActPause}); err != nil {
		t.Fatal(err)
	}
	if got := d.where(t, id); got != "All/Sales $Paused, erin:Later $Paused" {
		t.Fatalf("paused: %s", got)
	}
	// Another agent of the queue may not take erin's session.
	err := d.act(t, "finn@example.test", id, router.Action{Kind: router.ActResolve})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "erin@example.test's") {
		t.Fatalf("finn resolving erin's session: %v", err)
	}
	// Close is what the lifecycle timer does: working copies go, the
	// archive stays.
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActClose}); err != nil {
		t.Fatal(err)
	}
	if s := session(t, d.r, id); s.Status != router.StatusClosed || s.Parked {
		t.Fatalf("closed: %s parked %v", s.Status, s.Parked)
	}
	if got := d.where(t, id); got != "All/Sales $Closed" {
		t.Fatalf("closed: %s", got)
	}
	err = d.act(t, "erin@example.test", id, router.Action{Kind: router.ActResolve})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "closed") {
		t.Errorf("acting on a closed session: %v", err)
	}
}

func TestActPauseNeedsLater(t *testing.T) {
	d := newDesk(t) // Sales does not allow_personal_queue
	id := d.customer(t, "From: carla@customer.test\r\nSubject: later\r\n").Session
	err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActPause})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "allow_personal_queue") {
		t.Fatalf("pause: %v", err)
	}
	if got := d.where(t, id); got != "All/Sales $Unopened, Queues/Sales $Unopened" {
		t.Errorf("after the refused pause: %s", got)
	}
}

func TestActPermissionsAllOrNothing(t *testing.T) {
	d := newDesk(t)
	id := send(t, d.r, []string{"support@example.test"}, "From: carla@customer.test\r\nSubject: perms\r\n").Session
	before := d.where(t, id)
	// bob serves Billing only.
	err := d.act(t, "bob@example.test", id, router.Action{Kind: router.ActResolve})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "queue Support, which you do not serve") {
		t.Fatalf("bob resolving a Support session: %v", err)
	}
	// A failing second action undoes the first: the note is not filed.
	err = d.act(t, "alice@example.test", id,
		router.Action{Kind: router.ActNote, Arg: "checked the logs"},
		router.Action{Kind: router.ActTransfer, Arg: "Nowhere"})
	var ae *router.ActionError
	if !errors.As(err, &ae) || ae.Index != 1 || router.KindOf(err) != router.KindInvalid || !strings.Contains(err.Error(), `"Nowhere" is neither a queue nor an agent`) {
		t.Fatalf("note then bad transfer: %v", err)
	}
	if got := d.where(t, id); got != before {
		t.Errorf("after the refused actions: %s, want %s", got, before)
	}
	if kinds := eventKinds(t, d.r, id); slices.Contains(kinds, "note") {
		t.Errorf("events after the refused actions: %v", kinds)
	}
	for _, act := range []router.Action{{Kind: "delete"}, {Kind: router.ActResolve, Arg: "now"}, {Kind: router.ActAssign}, {Kind: router.ActNote}, {Kind: router.ActCc}} {
		if err := d.act(t, "alice@example.test", id, act); router.KindOf(err) != router.KindInvalid {
			t.Errorf("%+v: %v, want KindInvalid", act, err)
		}
	}
	if err := d.act(t, "alice@example.test", "S-NOSUCH", router.Action{Kind: router.ActResolve}); router.KindOf(err) != router.KindNotFound {
		t.Errorf("no such session: %v", err)
	}
}

func TestActAssignAndTransfer(t *testing.T) {
	d := newDesk(t)
	id := send(t, d.r, []string{"support@example.test"}, "From: carla@customer.test\r\nSubject: assign\r\n").Session
	// Agents do not assign to others; supervisors do, as Agents/<login>.
	err := d.act(t, "alice@example.test", id, router.Action{Kind: router.ActAssign, Arg: "carol@example.test"})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "only supervisors") {
		t.Fatalf("alice assigning to carol: %v", err)
	}
	if err := d.act(t, "carol@example.test", id, router.Action{Kind: router.ActAssign, Arg: "ALICE@example.test"}); err != nil {
		t.Fatal(err)
	}
	if got := d.where(t, id); got != "All/Support $Unopened, alice:INBOX $Unopened" {
		t.Fatalf("assigned: %s", got)
	}
	if s := session(t, d.r, id); s.TransferredAt.IsZero() {
		t.Error("an assignment by a supervisor does not count as a transfer")
	}
	if err := d.act(t, "carol@example.test", id, router.Action{Kind: router.ActAssign, Arg: "erin@example.test"}); router.KindOf(err) != router.KindForbidden {
		t.Errorf("assigning to an agent outside the queue: %v", err)
	}
	// Support does not allow_transfer_to_agent.
	err = d.act(t, "alice@example.test", id, router.Action{Kind: router.ActTransfer, Arg: "carol@example.test"})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "allow_transfer_to_agent") {
		t.Fatalf("alice transferring to carol: %v", err)
	}
	// A queue by its address, as a move to Queues/Billing.
	if err := d.act(t, "alice@example.test", id, router.Action{Kind: router.ActTransfer, Arg: "billing@example.test"}); err != nil {
		t.Fatal(err)
	}
	if got := d.where(t, id); got != "All/Billing $Unopened, All/Support $Unopened, Queues/Billing $Unopened" {
		t.Fatalf("transferred: %s", got)
	}
	if got := lastEventOf(t, d.r, id, "transferred"); got != "alice@example.test: from queue Support to queue Billing" {
		t.Errorf("transferred event: %q", got)
	}

	// Sales allows transfers to agents: as a forward to finn.
	sid := d.customer(t, "From: carla@customer.test\r\nSubject: hand over\r\n").Session
	if err := d.act(t, "erin@example.test", sid, router.Action{Kind: router.ActAssign, Arg: "erin@example.test"}); err != nil {
		t.Fatal(err)
	}
	if got := d.where(t, sid); got != "All/Sales $Unopened, erin:INBOX $Unopened" {
		t.Fatalf("erin assigned it to herself: %s", got)
	}
	if err := d.act(t, "erin@example.test", sid, router.Action{Kind: router.ActTransfer, Arg: "finn@example.test"}); err != nil {
		t.Fatal(err)
	}
	if s := session(t, d.r, sid); s.Agent != "finn@example.test" || s.TransferredAt.IsZero() {
		t.Errorf("after the transfer to finn: agent %s, transferred at %v", s.Agent, s.TransferredAt)
	}
	if got := lastEventOf(t, d.r, sid, "transferred"); got != "erin@example.test: to finn@example.test" {
		t.Errorf("transferred event: %q", got)
	}
}

func TestActNoteAndCc(t *testing.T) {
	d := newDesk(t)
	id := d.customer(t, "From: Carla <carla@customer.test>\r\nMessage-ID: <n1@customer.test>\r\nSubject: copies\r\n").Session
	if err := d.act(t, "erin@example.test", id,
		router.Action{Kind: router.ActNote, Arg: "she called:\nsend the quote"},
		router.Action{Kind: router.ActCc, Arg: "Dan Berg <DAN@partner.test>, sales@example.test"}); err != nil {
		t.Fatal(err)
	}
	var note string
	d.r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(id)
		for _, m := range msgs {
			raw, _ := rd.Blob(m.Blob)
			if strings.Contains(string(raw), "X-Mxdesk-Internal: note") {
				note = string(raw)
			}
		}
		return nil
	})
	if !strings.Contains(note, "Subject: [Internal] copies\r\n") || !strings.Contains(note, "\r\n\r\nshe called:\r\nsend the quote\r\n") {
		t.Errorf("note:\n%s", note)
	}
	if s := session(t, d.r, id); !slices.Equal(s.Cc, []string{`"Dan Berg" <dan@partner.test>`}) {
		t.Errorf("Cc = %q", s.Cc)
	}
	// The next reply without a Cc of its own goes to the session's Cc.
	reply := "From: erin@example.test\r\nTo: carla@customer.test\r\nIn-Reply-To: <n1@customer.test>\r\nSubject: Re: copies\r\n\r\nhere\r\n"
	if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, reply); err != nil {
		t.Fatal(err)
	}
	q := d.outbox(t)
	if len(q) != 1 || q[0].Header.Get("Cc") != `"Dan Berg" <dan@partner.test>` || !slices.Contains(q[0].To, "dan@partner.test") {
		t.Fatalf("reply after cc: %+v", q)
	}
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActCc, Arg: "NONE"}); err != nil {
		t.Fatal(err)
	}
	if s := session(t, d.r, id); len(s.Cc) != 0 {
		t.Errorf("Cc after none = %q", s.Cc)
	}
	if got := lastEventOf(t, d.r, id, "cc"); got != "erin@example.test: reply copies cleared" {
		t.Errorf("cc event: %q", got)
	}
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActCc, Arg: "not an address"}); router.KindOf(err) != router.KindInvalid {
		t.Errorf("cc of garbage: %v", err)
	}
}
