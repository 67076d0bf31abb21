package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

var ctx = context.Background()

func newRouter(t *testing.T) *router.Router {
	t.Helper()
	return testutil.Router(t, testutil.Config(t, ""), "")
}

func deliver(t *testing.T, r *router.Router, to, headers string) router.Delivered {
	t.Helper()
	raw := headers + "From: Carla <carla@customer.test>\r\nSubject: help\r\n\r\nbody\r\n"
	d, err := r.Deliver(ctx, router.Envelope{From: "carla@customer.test", To: []string{to}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func login(t *testing.T, r *router.Router, who string) *router.Agent {
	t.Helper()
	a, err := r.Authenticate(who, testutil.Password)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRecipients(t *testing.T) {
	r := newRouter(t)
	for addr, want := range map[string]error{
		"support@example.test": nil,
		"HELP@Example.Test":    nil,
		"nobody@example.test":  router.ErrUnknownRecipient,
		"support@other.test":   router.ErrUnknownRecipient,
		"noreply@example.test": router.ErrSendOnly,
	} {
		if err := r.CheckRecipient(addr); err != want {
			t.Errorf("CheckRecipient(%s) = %v, want %v", addr, err, want)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	r := newRouter(t)
	if _, err := r.Authenticate("alice@example.test", "wrong"); router.KindOf(err) != router.KindAuth {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := r.Authenticate("mallory@example.test", testutil.Password); router.KindOf(err) != router.KindAuth {
		t.Errorf("unknown login: %v", err)
	}
	if a := login(t, r, "ALICE@example.test"); a.Login != "alice@example.test" {
		t.Errorf("login = %q", a.Login)
	}
}

func TestDeliverThreadsAndStamps(t *testing.T) {
	r := newRouter(t)
	first := deliver(t, r, "support@example.test", "Message-ID: <m1@customer.test>\r\nX-Mxdesk-Session: S-FORGED\r\n")
	if !strings.HasPrefix(first.Session, "S-") || first.Folder != "Queues/Support" {
		t.Fatalf("first = %+v", first)
	}
	reply := deliver(t, r, "support@example.test", "Message-ID: <m2@customer.test>\r\nReferences: <m1@customer.test>\r\n")
	if reply.Session != first.Session {
		t.Errorf("reply threaded into %s, want %s", reply.Session, first.Session)
	}
	other := deliver(t, r, "billing@example.test", "")
	if other.Session == first.Session || other.MessageID == "" || other.Folder != "Queues/Billing" {
		t.Errorf("unrelated mail = %+v", other)
	}

	a := login(t, r, "alice@example.test")
	f, err := r.Folder(a, "Queues/Support")
	if err != nil {
		t.Fatal(err)
	}
	r.View(func(rd store.Reader) error {
		msgs, _ := rd.Messages(f.Mailbox, 0, 0)
		if len(msgs) != 2 {
			t.Fatalf("%d messages in Queues/Support, want 2", len(msgs))
		}
		raw, _ := rd.Blob(msgs[0].Blob)
		if !strings.HasPrefix(string(raw), "X-Mxdesk-Session: "+first.Session+"\r\n") || strings.Contains(string(raw), "S-FORGED") {
			t.Errorf("stored message:\n%s", raw)
		}
		return nil
	})
}

func TestQueueIsolationAndClaim(t *testing.T) {
	r := newRouter(t)
	d := deliver(t, r, "support@example.test", "Message-ID: <m1@customer.test>\r\n")
	alice, bob := login(t, r, "alice@example.test"), login(t, r, "bob@example.test")
	if _, err := r.Folder(bob, "Queues/Support"); router.KindOf(err) != router.KindNotFound {
		t.Fatalf("bob sees Support: %v", err)
	}
	q, _ := r.Folder(alice, "Queues/Support")
	if _, _, _, err := r.Move(ctx, bob, q.Mailbox, []store.UID{1}, "INBOX", nil); router.KindOf(err) != router.KindNotFound {
		t.Fatalf("bob moved from a queue he doesn't serve: %v", err)
	}
	if _, _, _, err := r.Move(ctx, alice, q.Mailbox, []store.UID{1}, "INBOX", nil); err != nil {
		t.Fatal(err)
	}
	// The customer's reply follows the claimed session into Alice's INBOX.
	reply := deliver(t, r, "support@example.test", "In-Reply-To: <m1@customer.test>\r\n")
	if reply.Session != d.Session || reply.Folder != "INBOX" {
		t.Fatalf("reply = %+v", reply)
	}
	r.View(func(rd store.Reader) error {
		s, _ := rd.Session(d.Session)
		if s.Agent != "alice@example.test" {
			t.Errorf("session agent = %q", s.Agent)
		}
		evs, _ := rd.Events(d.Session)
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		if got := strings.Join(kinds, ","); got != "created,status,received,assigned,received" {
			t.Errorf("events = %s", got)
		}
		return nil
	})
	// A session's message stays on the desk: no MOVE into a personal folder.
	if err := r.CreateFolder(ctx, alice, "Projects/2026"); err != nil {
		t.Fatal(err)
	}
	in, _ := r.Folder(alice, "inbox")
	if _, _, _, err := r.Move(ctx, alice, in.Mailbox, []store.UID{1}, "Projects/2026", nil); router.KindOf(err) != router.KindForbidden {
		t.Errorf("move into personal folder: %v", err)
	}
	if _, _, dst, err := r.Copy(ctx, alice, in.Mailbox, []store.UID{1}, "Projects/2026"); err != nil || len(dst) != 1 {
		t.Errorf("copy into personal folder: %v %v", dst, err)
	}
}

func TestFolderRules(t *testing.T) {
	r := newRouter(t)
	a := login(t, r, "alice@example.test")
	for _, name := range []string{"INBOX", "Queues/New", "Sent", "Templates", "Resolved/x"} {
		if err := r.CreateFolder(ctx, a, name); router.KindOf(err) != router.KindForbidden {
			t.Errorf("create %s: %v", name, err)
		}
	}
	for _, name := range []string{"INBOX", "Sent", "Queues/Support", "Trash"} {
		if err := r.DeleteFolder(ctx, a, name); router.KindOf(err) != router.KindForbidden {
			t.Errorf("delete %s: %v", name, err)
		}
		if err := r.RenameFolder(ctx, a, name, "Other"); router.KindOf(err) != router.KindForbidden {
			t.Errorf("rename %s: %v", name, err)
		}
	}
	if err := r.CreateFolder(ctx, a, "A/B"); err != nil {
		t.Fatal(err)
	}
	if err := r.CreateFolder(ctx, a, "A"); router.KindOf(err) != router.KindExists {
		t.Errorf("create existing parent: %v", err)
	}
	if err := r.RenameFolder(ctx, a, "A", "Trash/A"); err != nil {
		t.Fatal(err)
	}
	fs, _ := r.Folders(a)
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	want := "Drafts INBOX Junk Queues Queues/Support Queues/Support/Transfers Resolved Sent Status Status/Available Status/Away Templates Trash Trash/A Trash/A/B"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("folders = %s, want %s", got, want)
	}
	if err := r.DeleteFolder(ctx, a, "Trash/A"); router.KindOf(err) != router.KindForbidden {
		t.Errorf("delete with children: %v", err)
	}
}

func TestFlagsAndExpunge(t *testing.T) {
	r := newRouter(t)
	a := login(t, r, "alice@example.test")
	mb, uid, err := r.Append(ctx, a, "Drafts", []byte("Subject: draft\r\n\r\nx\r\n"), []string{`\draft`, "$label1"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := r.StoreFlags(ctx, a, mb.ID, []store.UID{uid}, router.FlagsAdd, []string{`\Deleted`, "todo"}, nil)
	if err != nil || len(msgs) != 1 || strings.Join(msgs[0].Flags, " ") != `$label1 \Deleted \Draft todo` {
		t.Fatalf("flags = %+v, %v", msgs, err)
	}
	if _, err := r.StoreFlags(ctx, a, mb.ID, []store.UID{uid}, router.FlagsAdd, []string{"bad keyword"}, nil); router.KindOf(err) != router.KindInvalid {
		t.Errorf("bad keyword accepted: %v", err)
	}
	f, _ := r.Folder(a, "Drafts")
	r.View(func(rd store.Reader) error {
		m, _ := rd.Mailbox(f.Mailbox)
		if strings.Join(m.Keywords, " ") != "$label1 todo" {
			t.Errorf("mailbox keywords = %v", m.Keywords)
		}
		return nil
	})
	gone, err := r.Expunge(ctx, a, mb.ID, nil, nil)
	if err != nil || len(gone) != 1 || gone[0] != uid {
		t.Errorf("expunge = %v, %v", gone, err)
	}
}
