package router_test

import (
	"slices"
	"strings"
	"testing"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// wrapupTOML is a Sales queue whose transfers need a wrap-up code, and
// its agents erin and finn.
const wrapupTOML = `
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
allow_transfer_to_agent = true
wrapup_required = ["transfer"]
[[queue.wrapup]]
code = "quote"
name = "Quote sent"

[[agent]]
login = "erin@example.test"
password_hash = "HASH"
queues = ["Sales", "Support"]

[[agent]]
login = "finn@example.test"
password_hash = "HASH"
queues = ["Sales"]
`

func TestActWrapupBeforeTransfer(t *testing.T) {
	cfg := testutil.Config(t, strings.ReplaceAll(wrapupTOML, "HASH", testutil.PasswordHash()))
	r := testutil.Router(t, cfg, "")
	d := &desk{r: r}
	id := d.customer(t, "From: carla@customer.test\r\nSubject: quote\r\n").Session
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActAssign, Arg: "erin@example.test"}); err != nil {
		t.Fatal(err)
	}
	// Forward to finn and #transfer finn share the rule.
	err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActTransfer, Arg: "finn@example.test"})
	if router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "queue Sales needs a wrap-up code to transfer session "+id+": tag a message with one of $wrapup_quote (Quote sent)") {
		t.Fatalf("transfer without a code: %v", err)
	}
	fwd := "Subject: Fwd: quote\r\nReferences: <x@y>\r\nX-Mxdesk-Session: " + id + "\r\n\r\nfinn, yours\r\n"
	if _, err := d.submit(t, "erin@example.test", []string{"finn@example.test"}, strings.Replace(fwd, "Fwd: quote", "Fwd: quote ["+id+"]", 1)); router.KindOf(err) != router.KindForbidden || !strings.Contains(err.Error(), "needs a wrap-up code to transfer") {
		t.Fatalf("forward to finn without a code: %v", err)
	}
	if err := d.act(t, "erin@example.test", id, router.Action{Kind: router.ActWrapup, Arg: "nope"}); router.KindOf(err) != router.KindInvalid || !strings.Contains(err.Error(), `"nope" is not a wrap-up code of queue Sales`) {
		t.Fatalf("unknown code: %v", err)
	}
	if err := d.act(t, "erin@example.test", id,
		router.Action{Kind: router.ActWrapup, Arg: "Quote"},
		router.Action{Kind: router.ActTransfer, Arg: "finn@example.test"}); err != nil {
		t.Fatal(err)
	}
	s := session(t, r, id)
	if s.Agent != "finn@example.test" || !slices.Equal(s.Wrapup, []string{"quote"}) {
		t.Fatalf("after wrap-up and transfer: %s %v", s.Agent, s.Wrapup)
	}
	// Every desk copy carries the keyword, so the tag shows everywhere.
	r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(id)
		for _, m := range msgs {
			if !slices.Contains(m.Flags, "$wrapup_quote") {
				t.Errorf("message %d in mailbox %d: flags %v", m.UID, m.Mailbox, m.Flags)
			}
		}
		return nil
	})
	// Another queue: the codes were Sales's.
	if err := d.act(t, "finn@example.test", id, router.Action{Kind: router.ActTransfer, Arg: "Support"}); err != nil {
		t.Fatal(err)
	}
	if s := session(t, r, id); s.Queue != "Support" || len(s.Wrapup) != 0 {
		t.Errorf("after the transfer to Support: %s %v", s.Queue, s.Wrapup)
	}
}

func TestWrapupKeywordsFollowReload(t *testing.T) {
	cfg := testutil.Config(t, strings.ReplaceAll(wrapupTOML, "HASH", testutil.PasswordHash()))
	r := testutil.Router(t, cfg, "")
	keywords := func(who, folder string) []string {
		t.Helper()
		f, err := r.Folder(login(t, r, who), folder)
		if err != nil {
			t.Fatal(err)
		}
		var kws []string
		r.View(func(rd store.Reader) error {
			mb, err := rd.Mailbox(f.Mailbox)
			kws = mb.Keywords
			return err
		})
		return kws
	}
	if kws := keywords("finn@example.test", "INBOX"); !slices.Contains(kws, "$wrapup_quote") {
		t.Errorf("finn's INBOX announces %v", kws)
	}
	next := testutil.Config(t, strings.ReplaceAll(strings.Replace(wrapupTOML, "name = \"Quote sent\"\n", "name = \"Quote sent\"\n[[queue.wrapup]]\ncode = \"Lost\"\n", 1), "HASH", testutil.PasswordHash()))
	if err := r.Reload(ctx, next); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Queues/Sales", "INBOX"} {
		if kws := keywords("erin@example.test", f); !slices.Contains(kws, "$wrapup_lost") {
			t.Errorf("after the reload, erin's %s announces %v", f, kws)
		}
	}
}
