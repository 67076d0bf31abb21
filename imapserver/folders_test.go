package imapserver_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mxdesk/imapserver"
)

func listNames(t *testing.T, c *client, ref, pattern string, opts *imap.ListOptions) []string {
	t.Helper()
	l, err := c.List(ref, pattern, opts).Collect()
	if err != nil {
		t.Fatalf("LIST %q %q: %v", ref, pattern, err)
	}
	var names []string
	for _, d := range l {
		names = append(names, d.Mailbox)
	}
	return names
}

func listData(t *testing.T, c *client, name string, opts *imap.ListOptions) *imap.ListData {
	t.Helper()
	l, err := c.List("", name, opts).Collect()
	if err != nil || len(l) != 1 {
		t.Fatalf("LIST %q = %v, %v", name, l, err)
	}
	return l[0]
}

func TestFolderIsolation(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "for support", "hi")
	h.deliverRaw("billing@example.test", "From: dan@customer.test\r\nSubject: for billing\r\n\r\nhi\r\n")

	a, b := h.login(alice), h.login(bob)
	if got, want := listNames(t, a, "", "*", nil), []string{"Drafts", "INBOX", "Junk", "Queues", "Queues/Support", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("alice sees %q, want %q", got, want)
	}
	if got, want := listNames(t, b, "", "*", nil), []string{"Drafts", "INBOX", "Junk", "Queues", "Queues/Billing", "Queues/Billing/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("bob sees %q, want %q", got, want)
	}
	_, err := a.Select("Queues/Billing", nil).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)
	_, err = a.Status("Queues/Billing", &imap.StatusOptions{NumMessages: true}).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)
	_, err = b.Select("queues/support", nil).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)

	// Each agent's INBOX is their own.
	appendMsg(t, a, "INBOX", "Subject: alice's own\r\n\r\nx\r\n", nil)
	if d := b.selectBox("INBOX"); d.NumMessages != 0 {
		t.Errorf("bob's INBOX has %d messages", d.NumMessages)
	}
	if d := a.selectBox("inbox"); d.NumMessages != 1 {
		t.Errorf("alice's INBOX has %d messages", d.NumMessages)
	}

	// Nothing of another queue can be reached from a selected one either.
	a.selectBox("Queues/Support")
	_, err = a.Copy(imap.SeqSetNum(1), "Queues/Billing").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
	_, err = a.Move(imap.SeqSetNum(1), "Queues/Billing").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
}

func TestListSpecialUse(t *testing.T) {
	h := newHarness(t)
	c := h.login(carol)
	for name, want := range map[string][]imap.MailboxAttr{
		"Sent":           {imap.MailboxAttrSent, imap.MailboxAttrHasNoChildren},
		"Drafts":         {imap.MailboxAttrDrafts, imap.MailboxAttrHasNoChildren},
		"Trash":          {imap.MailboxAttrTrash, imap.MailboxAttrHasNoChildren},
		"Junk":           {imap.MailboxAttrJunk, imap.MailboxAttrHasNoChildren},
		"Resolved":       {imap.MailboxAttrArchive, imap.MailboxAttrNoInferiors},
		"INBOX":          {imap.MailboxAttrHasNoChildren},
		"Queues":         {imap.MailboxAttrNoSelect, imap.MailboxAttrHasChildren},
		"Queues/Billing": {imap.MailboxAttrHasChildren}, // a supervisor sees Queues/Billing/Spam
	} {
		d := listData(t, c, name, nil)
		if !slices.Equal(d.Attrs, want) || d.Delim != '/' {
			t.Errorf("LIST %s: attrs %v delim %q, want %v '/'", name, d.Attrs, d.Delim, want)
		}
	}
	got := listNames(t, c, "", "*", &imap.ListOptions{SelectSpecialUse: true})
	if want := []string{"Drafts", "Junk", "Resolved", "Sent", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("LIST (SPECIAL-USE) = %q, want %q", got, want)
	}
	// LIST "" "" gives the delimiter (RFC 3501 6.3.8).
	d := listData(t, c, "", nil)
	if d.Delim != '/' || d.Mailbox != "" {
		t.Errorf(`LIST "" "" = %+v`, d)
	}
}

func TestListPatterns(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	odd := []string{"a[b]", "x(y)", "dot.ted", "dotXted", "plus+one", `back\slash`, "with space", "Ünïcødé", "日本語", "braces{1}", `quo"te`}
	for _, n := range odd {
		if err := c.Create("Projects/"+n, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", n, err)
		}
	}
	all := []string{"Drafts", "INBOX", "Junk", "Projects", "Queues", "Queues/Support", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"}
	for _, n := range odd {
		all = append(all, "Projects/"+n)
	}
	slices.Sort(all)
	projects := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, "Projects/"+n)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		ref, pattern string
		want         []string
	}{
		{"", "*", all},
		{"", "%", []string{"Drafts", "INBOX", "Junk", "Projects", "Queues", "Resolved", "Sent", "Status", "Templates", "Trash"}},
		{"", "inbox", []string{"INBOX"}},
		{"", "InBoX*", []string{"INBOX"}},
		{"", "inb%", []string{"INBOX"}},
		{"", "i*", []string{"INBOX"}},
		{"", "Queues/%", []string{"Queues/Support"}},
		{"Queues", "%", []string{"Queues/Support"}},
		{"Queues/", "*", []string{"Queues/Support", "Queues/Support/Transfers"}},
		{"", "Q*t", []string{"Queues/Support"}},
		{"", "Q%t", nil},
		{"", "%/Sup*", []string{"Queues/Support", "Queues/Support/Transfers"}},
		{"", "Projects/a[b]", projects("a[b]")},
		{"", "Projects/a[*", projects("a[b]")},
		{"", "*]", projects("a[b]")},
		{"", "Projects/x(y)", projects("x(y)")},
		{"", "*(*", projects("x(y)")},
		{"", "Projects/dot.ted", projects("dot.ted")},
		{"", "Projects/dot?ted", nil},
		{"", "*+*", projects("plus+one")},
		{"", `Projects/back\slash`, projects(`back\slash`)},
		{"", `*\*`, projects(`back\slash`)},
		{"", "Projects/with space", projects("with space")},
		{"", "*h s*", projects("with space")},
		{"", "Projects/Ün%", projects("Ünïcødé")},
		{"", "*語", projects("日本語")},
		{"Projects", "日本*", projects("日本語")},
		{"", "*{1}", projects("braces{1}")},
		{"", `*"*`, projects(`quo"te`)},
		{"", "*/*/*", []string{"Queues/Support/Transfers"}},
		{"", "nothing*", nil},
		{"", "/%", nil}, // absolute: no folder name starts with the delimiter
	} {
		got := listNames(t, c, tc.ref, tc.pattern, nil)
		if !slices.Equal(got, tc.want) {
			t.Errorf("LIST %q %q = %q, want %q", tc.ref, tc.pattern, got, tc.want)
		}
	}

	// Each odd name works as a folder too.
	for _, n := range odd {
		appendMsg(t, c, "Projects/"+n, "Subject: x\r\n\r\nx\r\n", nil)
		if d := c.selectBox("Projects/" + n); d.NumMessages != 1 {
			t.Errorf("SELECT %q: %d messages", n, d.NumMessages)
		}
	}

	// A pathological pattern is answered quickly.
	long := strings.Repeat("*a", 400) + "b"
	if got := listNames(t, c, "", long, nil); len(got) != 0 {
		t.Errorf("pathological pattern matched %q", got)
	}
}

func TestListSubscribed(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	for _, n := range []string{"Proj", "Proj/one", "Proj/two"} {
		if err := c.Create(n, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// CREATE subscribes nothing (RFC 3501 6.3.6): only Proj/one is.
	if err := c.Subscribe("Proj/one").Wait(); err != nil {
		t.Fatal(err)
	}
	got := listNames(t, c, "", "*", &imap.ListOptions{SelectSubscribed: true})
	if want := []string{"Drafts", "INBOX", "Junk", "Proj/one", "Queues", "Queues/Support", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"}; !slices.Equal(got, want) {
		t.Errorf("LIST (SUBSCRIBED) = %q, want %q", got, want)
	}
	if d := listData(t, c, "Proj/one", &imap.ListOptions{ReturnSubscribed: true}); !slices.Contains(d.Attrs, imap.MailboxAttrSubscribed) {
		t.Errorf("Proj/one attrs %v lack \\Subscribed", d.Attrs)
	}
	if d := listData(t, c, "Proj/two", &imap.ListOptions{ReturnSubscribed: true}); slices.Contains(d.Attrs, imap.MailboxAttrSubscribed) {
		t.Errorf("Proj/two attrs %v have \\Subscribed", d.Attrs)
	}
	// RECURSIVEMATCH reports the unsubscribed parent with CHILDINFO.
	l, err := c.List("", "%", &imap.ListOptions{SelectSubscribed: true, SelectRecursiveMatch: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range l {
		if d.Mailbox == "Proj" {
			found = d.ChildInfo != nil && d.ChildInfo.Subscribed && !slices.Contains(d.Attrs, imap.MailboxAttrSubscribed)
		}
	}
	if !found {
		t.Errorf("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %%: %+v", l)
	}

	// LSUB "%" shows the unsubscribed parent as \Noselect (RFC 3501 6.3.9).
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	lines, st := rc.cmd("b", `LSUB "" "%"`)
	if !strings.HasPrefix(st, "b OK") || !slices.Contains(lines, `* LSUB (\Noselect) "/" "Proj"`) || slices.Contains(lines, `* LSUB (\HasNoChildren) "/" "Proj/one"`) {
		t.Errorf("LSUB %% = %q %s", lines, st)
	}
	lines, _ = rc.cmd("c", `LSUB "" "Proj/*"`)
	if !slices.Equal(lines, []string{`* LSUB (\HasNoChildren) "/" "Proj/one"`}) {
		t.Errorf("LSUB Proj/* = %q", lines)
	}
}

func TestListStatus(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	c := h.login(alice)
	l, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true, UIDNext: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range l {
		switch {
		case d.Mailbox == "Queues" || d.Mailbox == "Status":
			if d.Status != nil {
				t.Errorf("\\Noselect %s got a STATUS", d.Mailbox)
			}
		case d.Status == nil:
			t.Errorf("%s: no STATUS", d.Mailbox)
		case d.Mailbox == "Queues/Support" && (*d.Status.NumMessages != 1 || d.Status.UIDNext != 2):
			t.Errorf("Queues/Support STATUS %+v", d.Status)
		}
	}
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	h.deliver("carla@customer.test", "two", "yy")
	c := h.login(alice)
	st, err := c.Status("Queues/Support", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || st.UIDNext != 3 || st.UIDValidity == 0 || *st.NumUnseen != 2 || *st.Size < 100 {
		t.Errorf("STATUS = %+v", st)
	}
	// RECENT, which imapclient doesn't parse.
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	lines, _ := rc.cmd("b", "STATUS Queues/Support (RECENT MESSAGES)")
	if !slices.Equal(lines, []string{`* STATUS "Queues/Support" (MESSAGES 2 RECENT 2)`}) {
		t.Errorf("STATUS RECENT = %q", lines)
	}
	c.selectBox("Queues/Support") // takes the recent messages
	lines, _ = rc.cmd("c", "STATUS Queues/Support (RECENT)")
	if !slices.Equal(lines, []string{`* STATUS "Queues/Support" (RECENT 0)`}) {
		t.Errorf("STATUS RECENT after SELECT = %q", lines)
	}
	_, err = c.Status("Queues", &imap.StatusOptions{NumMessages: true}).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
	_, err = c.Status("Nope", &imap.StatusOptions{NumMessages: true}).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)
}

func TestNamespace(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "" || ns.Personal[0].Delim != '/' || ns.Other != nil || ns.Shared != nil {
		t.Errorf("NAMESPACE = %+v", ns)
	}
}

func TestFolderManagement(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	for _, n := range []string{"Customers/", "Customers/ACME"} {
		if err := c.Create(n, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", n, err)
		}
	}
	wantCode(t, c.Create("Customers/ACME", nil).Wait(), imap.StatusResponseTypeNo, imap.ResponseCodeAlreadyExists)
	appendMsg(t, c, "Customers/ACME", "Subject: keep\r\n\r\nx\r\n", nil)
	if err := c.Rename("Customers", "Clients", nil).Wait(); err != nil {
		t.Fatalf("RENAME: %v", err)
	}
	if got := listNames(t, c, "", "C*", nil); !slices.Equal(got, []string{"Clients", "Clients/ACME"}) {
		t.Errorf("after RENAME: %q", got)
	}
	if d := c.selectBox("Clients/ACME"); d.NumMessages != 1 {
		t.Errorf("renamed folder lost its message: %d", d.NumMessages)
	}
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("Clients/ACME").Wait(); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	if err := c.Delete("Clients").Wait(); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	wantCode(t, c.Delete("Clients").Wait(), imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)

	// The desk folders are fixed.
	for _, err := range []error{
		c.Delete("INBOX").Wait(),
		c.Delete("Sent").Wait(),
		c.Delete("Queues/Support").Wait(),
		c.Delete("Queues").Wait(),
		c.Rename("Trash", "Bin", nil).Wait(),
		c.Rename("INBOX", "Old", nil).Wait(),
		c.Rename("Queues/Support", "Mine", nil).Wait(),
		c.Create("Queues/Mine", nil).Wait(),
		c.Create("INBOX", nil).Wait(),
	} {
		wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
	}
	wantCode(t, c.Create("Bad*Name", nil).Wait(), imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
}

// A folder deleted while another connection has it selected empties there.
func TestDeleteSelectedFolder(t *testing.T) {
	h := newHarness(t)
	a, b := h.login(alice), h.login(alice)
	if err := a.Create("Tmp", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, a, "Tmp", "Subject: x\r\n\r\nx\r\n", nil)
	b.selectBox("Tmp")
	if err := a.Delete("Tmp").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if seq := b.waitExpunge(); seq != 1 {
		t.Errorf("EXPUNGE %d", seq)
	}
	_, err := b.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{UID: true}).Collect()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)
}

// With UTF8=ACCEPT (RFC 6855) names travel as UTF-8; without it as
// modified UTF-7 (RFC 3501 5.1.3). Both reach the same folder.
func TestUTF8Names(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	if err := c.Create("Clienti/Società", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	lines, _ := rc.cmd("b", `LIST "" "Clienti/*"`)
	if !slices.Equal(lines, []string{`* LIST (\HasNoChildren) "/" "Clienti/Societ&AOA-"`}) {
		t.Errorf("LIST in UTF-7 = %q", lines)
	}
	if _, st := rc.cmd("c", `SELECT "Clienti/Societ&AOA-"`); !strings.HasPrefix(st, "c OK") {
		t.Errorf("SELECT in UTF-7: %s", st)
	}
	rc.cmd("d", "ENABLE UTF8=ACCEPT")
	lines, _ = rc.cmd("e", `LIST "" "Clienti/*"`)
	if !slices.Equal(lines, []string{`* LIST (\HasNoChildren) "/" "Clienti/Società"`}) {
		t.Errorf("LIST in UTF-8 = %q", lines)
	}
	if _, st := rc.cmd("f", `SELECT "Clienti/Società"`); !strings.HasPrefix(st, "f OK") {
		t.Errorf("SELECT in UTF-8: %s", st)
	}
}

// limits.personal_folders_per_agent caps the folders an agent creates,
// parents made on the way included; desk folders don't count, and a
// rename only counts the parents it makes.
func TestPersonalFolderCap(t *testing.T) {
	h := newHarnessWith(t, harnessConfig{opts: imapserver.Options{InsecureAuth: true}, extra: "[limits]\npersonal_folders_per_agent = 3\n"})
	c := h.login(alice)
	for _, name := range []string{"Orders", "Orders/2026", "INBOX/Suppliers"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", name, err)
		}
	}
	wantLimit := func(what string, err error) {
		t.Helper()
		wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeLimit)
		if !strings.Contains(err.Error(), "limits.personal_folders_per_agent") {
			t.Errorf("%s: %v, want the key named", what, err)
		}
	}
	wantLimit("CREATE Misc", c.Create("Misc", nil).Wait())
	wantLimit("RENAME into a new parent", c.Rename("INBOX/Suppliers", "Vendors/Suppliers", nil).Wait())
	if err := c.Rename("INBOX/Suppliers", "Suppliers", nil).Wait(); err != nil {
		t.Fatalf("RENAME without a new parent: %v", err)
	}
	if err := c.Delete("Suppliers").Wait(); err != nil {
		t.Fatal(err)
	}
	wantLimit("CREATE with a new parent", c.Create("Misc/Deep", nil).Wait())
	if got := listNames(t, c, "", "Misc*", nil); len(got) != 0 {
		t.Errorf("a refused CREATE left %q", got)
	}
	// A parent that exists is not counted again.
	if err := c.Create("Orders/Q1", nil).Wait(); err != nil {
		t.Fatalf("CREATE below an existing parent: %v", err)
	}
	if err := c.Delete("Orders/Q1").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Misc", nil).Wait(); err != nil {
		t.Fatalf("CREATE after a DELETE: %v", err)
	}
	// The cap is each agent's own.
	b := h.login(bob)
	if err := b.Create("Bob's", nil).Wait(); err != nil {
		t.Fatalf("bob's CREATE: %v", err)
	}
}
