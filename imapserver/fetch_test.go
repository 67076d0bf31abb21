package imapserver_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

const multipartMsg = "From: \"Carla Bianchi\" <carla@customer.test>\r\n" +
	"To: Support Team: support@example.test, help@example.test;, dan@x.test\r\n" +
	"Subject: Invoice question\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <m1@customer.test>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n" +
	"\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"Hello, my invoice is wrong.\r\n" +
	"--XYZ\r\n" +
	"Content-Type: application/pdf; name=\"inv.pdf\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename=\"inv.pdf\"\r\n" +
	"\r\n" +
	"SGVsbG8gUERG\r\n" +
	"--XYZ--\r\n"

func TestFetch(t *testing.T) {
	h := newHarness(t)
	h.deliverRaw("support@example.test", multipartMsg)
	c := h.login(alice)
	c.selectBox("Queues/Support")

	full := &imap.FetchItemBodySection{Peek: true}
	msgs := c.fetchAll(&imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{full},
	})
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	raw := m.FindBodySection(full)
	if !bytes.Contains(raw, []byte("X-Mxdesk-Session: S-")) || !bytes.HasSuffix(raw, []byte(multipartMsg)) {
		t.Errorf("BODY[] = %q", raw)
	}
	if m.RFC822Size != int64(len(raw)) {
		t.Errorf("RFC822.SIZE %d, BODY[] has %d bytes", m.RFC822Size, len(raw))
	}
	if m.UID != 1 || m.InternalDate.IsZero() || time.Since(m.InternalDate) > time.Hour {
		t.Errorf("UID %d INTERNALDATE %v", m.UID, m.InternalDate)
	}
	if slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("BODY.PEEK set \\Seen: %v", m.Flags)
	}

	env := m.Envelope
	if env.Subject != "Invoice question" || env.MessageID != "m1@customer.test" ||
		len(env.From) != 1 || env.From[0].Name != "Carla Bianchi" || env.From[0].Addr() != "carla@customer.test" {
		t.Errorf("ENVELOPE = %+v", env)
	}
	// The group survives (RFC 3501 7.4.2: start and end markers).
	wantTo := []imap.Address{
		{Mailbox: "Support Team"},
		{Mailbox: "support", Host: "example.test"},
		{Mailbox: "help", Host: "example.test"},
		{},
		{Mailbox: "dan", Host: "x.test"},
	}
	if !slices.Equal(env.To, wantTo) {
		t.Errorf("ENVELOPE To = %+v, want %+v", env.To, wantTo)
	}

	mp, ok := m.BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("BODYSTRUCTURE = %#v", m.BodyStructure)
	}
	text := mp.Children[0].(*imap.BodyStructureSinglePart)
	pdf := mp.Children[1].(*imap.BodyStructureSinglePart)
	if text.MediaType() != "text/plain" || pdf.MediaType() != "application/pdf" || !strings.EqualFold(pdf.Encoding, "base64") ||
		pdf.Disposition() == nil || pdf.Disposition().Value != "attachment" {
		t.Errorf("parts = %+v / %+v", text, pdf)
	}

	sec := func(part []int, spec imap.PartSpecifier) *imap.FetchItemBodySection {
		return &imap.FetchItemBodySection{Part: part, Specifier: spec, Peek: true}
	}
	fields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"subject", "FROM"}, Peek: true}
	notFields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"X-Mxdesk-Session", "X-Mxdesk-Queue", "X-Mxdesk-Note-Address", "Content-Type", "MIME-Version", "To", "Date", "Message-ID"}, Peek: true}
	head := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 0, Size: 10}, Peek: true}
	mid := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 5, Size: 3}, Peek: true}
	beyond := &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 100000, Size: 10}, Peek: true}
	want := map[*imap.FetchItemBodySection]string{
		sec([]int{1}, ""):                     "Hello, my invoice is wrong.",
		sec([]int{2}, ""):                     "SGVsbG8gUERG",
		sec([]int{1}, imap.PartSpecifierMIME): "Content-Type: text/plain; charset=utf-8\r\n\r\n",
		sec([]int{3}, ""):                     "",
		sec(nil, imap.PartSpecifierText):      multipartMsg[strings.Index(multipartMsg, "--XYZ\r\n"):],
		sec(nil, imap.PartSpecifierHeader):    string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))+4]),
		fields:                                "From: \"Carla Bianchi\" <carla@customer.test>\r\nSubject: Invoice question\r\n\r\n",
		notFields:                             "From: \"Carla Bianchi\" <carla@customer.test>\r\nSubject: Invoice question\r\n\r\n",
		head:                                  string(raw[:10]),
		mid:                                   string(raw[5:8]),
		beyond:                                "",
	}
	var opts imap.FetchOptions
	for s := range want {
		opts.BodySection = append(opts.BodySection, s)
	}
	bin := &imap.FetchItemBinarySection{Part: []int{2}, Peek: true}
	opts.BinarySection = []*imap.FetchItemBinarySection{bin}
	opts.BinarySectionSize = []*imap.FetchItemBinarySectionSize{{Part: []int{2}}}
	m = c.fetchAll(&opts)[0]
	for s, w := range want {
		if got := string(m.FindBodySection(s)); got != w {
			t.Errorf("BODY[%v %s %v %v]<%v> = %q, want %q", s.Part, s.Specifier, s.HeaderFields, s.HeaderFieldsNot, s.Partial, got, w)
		}
	}
	if got := string(m.FindBinarySection(bin)); got != "Hello PDF" {
		t.Errorf("BINARY[2] = %q", got)
	}
	if n, _ := m.FindBinarySectionSize([]int{2}); n != 9 {
		t.Errorf("BINARY.SIZE[2] = %d", n)
	}
	if slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("peeks set \\Seen")
	}

	// A plain BODY[] sets \Seen and reports the new FLAGS unasked.
	body1 := &imap.FetchItemBodySection{Part: []int{1}}
	m = c.fetchAll(&imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body1}})[0]
	if !slices.Contains(m.Flags, imap.FlagSeen) || string(m.FindBodySection(body1)) != "Hello, my invoice is wrong." {
		t.Errorf("BODY[1]: flags %v body %q", m.Flags, m.FindBodySection(body1))
	}
	// BODY (non-extended structure) and the RFC822 forms, over raw TCP.
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	rc.cmd("b", "EXAMINE Queues/Support")
	lines, st := rc.cmd("c", "FETCH 1 (BODY RFC822.HEADER)")
	if !strings.HasPrefix(st, "c OK") || len(lines) == 0 || !strings.Contains(lines[0], `BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 27 1)("application" "pdf" ("name" "inv.pdf") NIL NIL "base64" 12) "mixed")`) ||
		!strings.Contains(lines[0], "RFC822.HEADER {") {
		t.Errorf("FETCH BODY RFC822.HEADER = %q %s", lines, st)
	}
}

// RFC822.TEXT is BODY[TEXT] and sets \Seen; RFC822.HEADER peeks.
func TestFetchRFC822Forms(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "hi", "the body")
	rc := h.raw()
	rc.cmd("a", "LOGIN alice@example.test secret")
	rc.cmd("b", "SELECT Queues/Support")
	lines, _ := rc.cmd("c", "FETCH 1 (RFC822.HEADER)")
	if strings.Contains(strings.Join(lines, "\n"), `\Seen`) {
		t.Errorf("RFC822.HEADER set \\Seen: %q", lines)
	}
	lines, _ = rc.cmd("d", "FETCH 1 (RFC822.TEXT)")
	if len(lines) != 3 || !strings.Contains(lines[0], "RFC822.TEXT {10}") || lines[1] != "the body" || !strings.Contains(lines[0]+lines[2], `\Seen`) {
		t.Errorf("RFC822.TEXT = %q", lines)
	}
	lines, _ = rc.cmd("e", "FETCH 1 (RFC822.SIZE RFC822)")
	if len(lines) < 2 || !strings.Contains(lines[0], "RFC822 {") {
		t.Errorf("RFC822 = %q", lines)
	}
}

// EXAMINE never sets \Seen (RFC 3501 6.3.2).
func TestFetchReadOnly(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "hi", "body")
	c := h.login(alice)
	if _, err := c.Select("Queues/Support", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	m := c.fetchAll(&imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{}}})[0]
	if slices.Contains(m.Flags, imap.FlagSeen) {
		t.Errorf("EXAMINE + BODY[] set \\Seen")
	}
	err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
}
