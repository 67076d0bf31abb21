package imapserver_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mxdesk/imapserver"
)

func TestAppend(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	date := time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600))
	raw := "From: alice@example.test\r\nSubject: draft\r\n\r\nwork in progress\r\n"
	d := appendMsg(t, c, "Drafts", raw, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft, imap.FlagSeen, "$Todo"}, Time: date})
	if d.UID != 1 || d.UIDValidity == 0 {
		t.Errorf("APPENDUID = %+v", d)
	}
	d2 := appendMsg(t, c, "Sent", "Subject: sent\r\n\r\nx\r\n", nil)
	if d2.UID != 1 || d2.UIDValidity == d.UIDValidity {
		t.Errorf("APPENDUID Sent = %+v (Drafts %+v)", d2, d)
	}
	sel := c.selectBox("Drafts")
	if sel.UIDValidity != d.UIDValidity || sel.UIDNext != 2 || !slices.Contains(sel.Flags, "$Todo") {
		t.Errorf("SELECT Drafts = %+v", sel)
	}
	m := c.fetchAll(&imap.FetchOptions{Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})[0]
	if !m.InternalDate.Equal(date) || string(m.BodySection[0].Bytes) != raw {
		t.Errorf("appended message: date %v body %q", m.InternalDate, m.BodySection[0].Bytes)
	}
	for _, f := range []imap.Flag{imap.FlagDraft, imap.FlagSeen, "$Todo"} {
		if !slices.Contains(m.Flags, f) {
			t.Errorf("flags %v lack %s", m.Flags, f)
		}
	}

	// Appending to the selected mailbox shows up at once (EXISTS).
	appendMsg(t, c, "Drafts", "Subject: two\r\n\r\nx\r\n", nil)
	c.waitExists(2)

	_, err := appendErr(c, "Nowhere", "Subject: x\r\n\r\nx\r\n")
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
	_, err = appendErr(c, "Queues/Support", "Subject: x\r\n\r\nx\r\n")
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
}

func TestAppendLimit(t *testing.T) {
	// Above 4096 bytes, so that clients use synchronizing literals
	// (LITERAL-, RFC 7888) and the refusal needs no literal sent.
	h := newHarnessOpts(t, imapserver.Options{InsecureAuth: true, MaxAppend: 8192})
	c := h.login(alice)
	_, err := appendErr(c, "Drafts", "Subject: x\r\n\r\n"+strings.Repeat("x", 9000))
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTooBig)
	// (imapclient drops its connection when a literal is refused.)
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	_, st := rc.cmd("b", "APPEND Drafts {8193}")
	if !strings.HasPrefix(st, "b NO [TOOBIG]") {
		t.Errorf("APPEND {101} = %s", st)
	}
	if _, st := rc.cmd("c", "NOOP"); !strings.HasPrefix(st, "c OK") {
		t.Errorf("after refused APPEND: %s", st)
	}
	appendMsg(t, h.login(alice), "Drafts", "Subject: x\r\n\r\nsmall\r\n", nil)
}

func appendErr(c *client, folder, raw string) (*imap.AppendData, error) {
	cmd := c.Append(folder, int64(len(raw)), nil)
	cmd.Write([]byte(raw))
	cmd.Close()
	return cmd.Wait()
}

func TestStoreFlags(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	h.deliver("carla@customer.test", "two", "x")
	c := h.login(alice)
	c.selectBox("Queues/Support")
	got := store(t, c, imap.SeqSetNum(1, 2), imap.StoreFlagsAdd, imap.FlagFlagged, "$label1")
	if len(got) != 2 || !slices.Contains(got[0].Flags, imap.FlagFlagged) || !slices.Contains(got[1].Flags, "$label1") {
		t.Errorf("STORE +FLAGS = %+v", got)
	}
	got = store(t, c, imap.UIDSetNum(2), imap.StoreFlagsDel, imap.FlagFlagged)
	if len(got) != 1 || got[0].UID != 2 || slices.Contains(got[0].Flags, imap.FlagFlagged) {
		t.Errorf("UID STORE -FLAGS = %+v", got)
	}
	got = store(t, c, imap.SeqSetNum(1), imap.StoreFlagsSet, imap.FlagAnswered)
	if len(got) != 1 || slices.Contains(got[0].Flags, imap.FlagFlagged) || !slices.Contains(got[0].Flags, imap.FlagAnswered) {
		t.Errorf("STORE FLAGS = %+v", got)
	}
	silent, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect()
	if err != nil || len(silent) != 0 {
		t.Errorf("STORE .SILENT = %+v, %v", silent, err)
	}
	msgs := c.fetchAll(&imap.FetchOptions{Flags: true})
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) || !slices.Contains(msgs[0].Flags, imap.FlagAnswered) {
		t.Errorf("flags after STORE: %v", msgs[0].Flags)
	}
	// \Recent can't be stored, unknown system flags are refused.
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{`\Bogus`}}, nil).Close(); err == nil {
		t.Error("STORE \\Bogus succeeded")
	}
}

func TestCopyMoveExpunge(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	for _, s := range []string{"one", "two", "three", "four"} {
		appendMsg(t, c, "INBOX", "Subject: "+s+"\r\n\r\nx\r\n", nil)
	}
	if err := c.Create("Keep", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	sel := c.selectBox("INBOX")

	cd, err := c.Copy(imap.SeqSetNum(1, 2), "Keep").Wait()
	if err != nil {
		t.Fatal(err)
	}
	keep, err := c.Status("Keep", &imap.StatusOptions{UIDValidity: true, NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cd.UIDValidity != keep.UIDValidity || cd.SourceUIDs.String() != "1:2" || cd.DestUIDs.String() != "1:2" || *keep.NumMessages != 2 {
		t.Errorf("COPYUID = %+v, Keep = %+v", cd, keep)
	}

	md, err := c.Move(imap.UIDSetNum(3), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.SourceUIDs.String() != "3" || md.DestUIDs.String() != "1" {
		t.Errorf("MOVE COPYUID = %+v", md)
	}
	if seq := c.waitExpunge(); seq != 3 {
		t.Errorf("MOVE expunged %d, want 3", seq)
	}
	if got := c.uids(); !slices.Equal(got, []imap.UID{1, 2, 4}) {
		t.Errorf("UIDs after MOVE = %v", got)
	}

	// MOVE within the same mailbox: allowed, new UIDs.
	md, err = c.Move(imap.UIDSetNum(1), "INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.DestUIDs.String() != "5" || md.UIDValidity != sel.UIDValidity {
		t.Errorf("MOVE to self: %+v", md)
	}
	if got := c.uids(); !slices.Equal(got, []imap.UID{2, 4, 5}) {
		t.Errorf("UIDs after MOVE to self = %v", got)
	}

	// UID EXPUNGE removes only the named \Deleted messages.
	store(t, c, imap.UIDSetNum(2, 4), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.UIDExpunge(imap.UIDSetNum(4)).Close(); err != nil {
		t.Fatal(err)
	}
	if got := c.uids(); !slices.Equal(got, []imap.UID{2, 5}) {
		t.Errorf("UIDs after UID EXPUNGE 4 = %v", got)
	}
	exp, err := c.Expunge().Collect()
	if err != nil || !slices.Equal(exp, []uint32{1}) {
		t.Errorf("EXPUNGE = %v, %v", exp, err)
	}
	if got := c.uids(); !slices.Equal(got, []imap.UID{5}) {
		t.Errorf("UIDs after EXPUNGE = %v", got)
	}

	// Missing destinations ask the client to create them.
	_, err = c.Copy(imap.SeqSetNum(1), "Nope").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
	_, err = c.Move(imap.SeqSetNum(1), "Nope").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)

	// CLOSE expunges silently.
	store(t, c, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.UnselectAndExpunge().Wait(); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("INBOX after CLOSE: %+v %v", st, err)
	}
}

// Claiming a queue message: MOVE to INBOX. A session's message can be
// copied to a personal folder but not moved there.
func TestClaimAndDeskRules(t *testing.T) {
	h := newHarness(t)
	h.deliver("Carla <carla@customer.test>", "Need help", "please")
	h.deliver("Dan <dan@customer.test>", "Other", "x")
	c := h.login(alice)
	if err := c.Create("Personal", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	c.selectBox("Queues/Support")
	if _, err := c.Copy(imap.SeqSetNum(1), "Personal").Wait(); err != nil {
		t.Errorf("COPY to a personal folder: %v", err)
	}
	_, err := c.Move(imap.SeqSetNum(1), "Personal").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)

	md, err := c.Move(imap.SeqSetNum(1), "INBOX").Wait()
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if md.DestUIDs.String() != "1" {
		t.Errorf("claim COPYUID %+v", md)
	}
	c.waitExpunge()
	c.selectBox("INBOX")
	m := c.fetchAll(&imap.FetchOptions{Envelope: true})
	if len(m) != 1 || m[0].Envelope.Subject != "Need help" {
		t.Errorf("INBOX after claim: %+v", m)
	}
	// Carol, on the same queue, sees one message left.
	st, err := h.login(carol).Status("Queues/Support", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("Queues/Support for carol: %+v, %v", st, err)
	}
}
