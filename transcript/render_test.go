package transcript_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/transcript"
)

func TestTextHasEveryMessage(t *testing.T) {
	th := newThread(t)
	text, err := transcript.Text(th.load(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Session " + th.id + ": Broken order — Ζημιά",
		"Subject: Broken order — Ζημιά",             // RFC 2047 decoded
		"From: Carla Rössler <carla@customer.test>", // RFC 2047 decoded
		customerLine, greekLine, russianLine, cjkLine,
		"receipt-4471.pdf (application/pdf, 48 bytes)",
		"Date: Mon, 2 Mar 2026 10:00:00 +0100",
		agentLine,
		htmlOnlyLine,
		"Second line & more", // HTML as text: entities decoded
		"> " + agentLine,     // a quoted <blockquote>
		"Message 2 of 3 (sent)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for _, never := range []string{"alert(1)", "color:red", "<div>", "<p>"} {
		if strings.Contains(text, never) {
			t.Errorf("text has %q", never)
		}
	}
	// The Thunderbird reply is shown by its text/plain part.
	if strings.Count(text, agentLine) != 2 {
		t.Errorf("the agent's line appears %d times, want 2 (reply, quote):\n%s", strings.Count(text, agentLine), text)
	}
	if t.Failed() {
		t.Logf("text:\n%s", text)
	}
}

func TestTextTruncatesHugeBodies(t *testing.T) {
	th := newThread(t)
	tr := th.load(t)
	huge := "From: carla@customer.test\r\nSubject: logs\r\n\r\n" + strings.Repeat("log line Ω\r\n", transcript.MaxBodyText/8)
	tr.Messages = append(tr.Messages, transcript.Message{Raw: []byte(huge), InternalDate: th.clock.Now()})
	text, err := transcript.Text(tr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "message truncated") || len(text) > transcript.MaxBodyText+64<<10 {
		t.Errorf("huge body: %d bytes, truncation note %v", len(text), strings.Contains(text, "message truncated"))
	}
}

func TestMetadata(t *testing.T) {
	th := newThread(t)
	data, err := transcript.Metadata(th.load(t))
	if err != nil {
		t.Fatal(err)
	}
	var m transcript.SessionMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	created := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if m.Session.ID != th.id || m.Session.Queue != "Support" || m.Session.Customer != "carla@customer.test" ||
		m.Session.Status != "Resolved" || m.Session.Agent != "alice@example.test" || !m.Session.Created.Equal(created) {
		t.Errorf("session %+v", m.Session)
	}
	var statuses []string
	for _, s := range m.Statuses {
		statuses = append(statuses, s.Status)
	}
	if got := strings.Join(statuses, ","); got != "Unopened,Active,Resolved" {
		t.Errorf("statuses %s\n%s", got, data)
	}
	if len(m.Agents) != 1 || m.Agents[0].Agent != "alice@example.test" || !m.Agents[0].Time.Equal(created.Add(time.Hour)) {
		t.Errorf("agents %+v", m.Agents)
	}
	if m.FirstResponse == nil || m.FirstResponse.Seconds != 3600 {
		t.Errorf("first response %+v, want 3600 s", m.FirstResponse)
	}
	if m.Handling == nil || m.Handling.Seconds != int64((2*time.Hour+30*time.Minute)/time.Second) {
		t.Errorf("handling %+v, want 9000 s", m.Handling)
	}
	var dirs []string
	for _, msg := range m.Messages {
		dirs = append(dirs, msg.Direction)
	}
	if got := strings.Join(dirs, ","); got != "inbound,outbound,inbound" {
		t.Errorf("directions %s", got)
	}
	first := m.Messages[0]
	if first.MessageID != "c1@customer.test" || first.Subject != "Broken order — Ζημιά" || len(first.Folders) == 0 ||
		len(first.Attachments) != 1 || first.Attachments[0].Name != "receipt-4471.pdf" {
		t.Errorf("first message %+v", first)
	}
	if len(m.Events) == 0 || m.Transfers == nil {
		t.Errorf("events %d, transfers %v", len(m.Events), m.Transfers)
	}
	if !bytes.Contains(data, []byte(`"first_response": {`)) || !bytes.Contains(data, []byte(`"transfers": []`)) {
		t.Errorf("JSON field names:\n%s", data)
	}
}

// pdfText is the PDF's text as poppler's pdftotext reads it.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext is needed (apt-get install poppler-utils; .ci/run installs it)")
	}
	path := filepath.Join(t.TempDir(), "t.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

func TestPDFReadsBack(t *testing.T) {
	th := newThread(t)
	var buf bytes.Buffer
	if err := transcript.PDF(&buf, th.load(t)); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"Broken order — Ζημιά", th.id, "carla@customer.test", customerLine, greekLine, russianLine,
		agentLine, htmlOnlyLine, "receipt-4471.pdf",
		strings.Repeat("?", len([]rune(cjkLine))), // no glyphs in the Go fonts: written as '?', the document intact
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("PDF text:\n%s", text)
	}
}

// TestMetadataTransferAndReopen: a transfer names both queues, the
// agents list who took the session, the first response counts from
// creation, and handling runs to the last resolution after a reopen.
func TestMetadataTransferAndReopen(t *testing.T) {
	clock := testutil.NewClock()
	r := testutil.RouterOpts(t, testutil.Config(t, ""), "", router.Options{Now: clock.Now})
	th := &thread{r: r, clock: clock}
	th.id = th.deliver(t, "From: carla@customer.test\r\nTo: support@example.test\r\nSubject: invoice\r\nMessage-ID: <tr1@customer.test>\r\n\r\nwrong amount\r\n").Session
	created := clock.Now()
	clock.Advance(10 * time.Minute)
	th.move(t, "carol@example.test", "Queues/Support", "Queues/Billing")
	clock.Advance(10 * time.Minute)
	bob := th.agent(t, "bob@example.test")
	if _, err := r.Submit(ctx, bob, router.Envelope{From: "bob@example.test", To: []string{"carla@customer.test"}},
		[]byte("From: bob@example.test\r\nTo: carla@customer.test\r\nSubject: Re: invoice\r\nIn-Reply-To: <tr1@customer.test>\r\nMessage-ID: <tr2@example.test>\r\n\r\nfixed\r\n")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10 * time.Minute)
	th.move(t, "bob@example.test", "INBOX", "Resolved")
	clock.Advance(30 * time.Minute)
	token := th.session(t).Token
	th.deliver(t, "From: carla@customer.test\r\nTo: billing+"+token+"@example.test\r\nSubject: Re: invoice\r\nMessage-ID: <tr3@customer.test>\r\nIn-Reply-To: <tr2@example.test>\r\n\r\nstill wrong\r\n")
	clock.Advance(time.Hour)
	th.move(t, "bob@example.test", "INBOX", "Resolved")

	var tr transcript.Thread
	r.View(func(rd store.Reader) (err error) { tr, err = transcript.Load(rd, th.id); return err })
	m := transcript.Meta(tr)
	if len(m.Transfers) != 1 || m.Transfers[0].From != "Support" || m.Transfers[0].To != "Billing" || m.Transfers[0].Actor != "carol@example.test" {
		t.Errorf("transfers %+v", m.Transfers)
	}
	if len(m.Agents) == 0 || m.Agents[len(m.Agents)-1].Agent != "bob@example.test" {
		t.Errorf("agents %+v", m.Agents)
	}
	if m.FirstResponse == nil || m.FirstResponse.Seconds != 20*60 {
		t.Errorf("first response %+v, want 1200 s", m.FirstResponse)
	}
	if m.Handling == nil || !m.Handling.At.Equal(clock.Now()) || m.Handling.Seconds != int64(clock.Now().Sub(created)/time.Second) {
		t.Errorf("handling %+v, want until the second resolution at %s", m.Handling, clock.Now())
	}
	var resolved int
	for _, s := range m.Statuses {
		if s.Status == "Resolved" {
			resolved++
		}
	}
	if resolved != 2 || m.Session.Queue != "Billing" {
		t.Errorf("statuses %+v in %s", m.Statuses, m.Session.Queue)
	}
}

// TestPDFSurvivesOddMessages: bytes that are not UTF-8, control
// characters, scripts the fonts lack, a line with no break, a broken
// image and one claiming a huge size give a readable PDF with the rest of
// the text in it.
func TestPDFSurvivesOddMessages(t *testing.T) {
	th := newThread(t)
	tr := th.load(t)
	bomb := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x86\xa0\x00\x01\x86\xa0\x08\x02\x00\x00\x00")
	odd := "From: odd@customer.test\r\nSubject: odd \x01\x7f bytes\r\nMIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=o\r\n\r\n" +
		"--o\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"bad utf-8 \xff\xfe\xc3 here\r\nnul \x00 bell \a tab\tend\r\n" +
		"مرحبا بالعالم 😀 שלום\r\n" + strings.Repeat("x", 20000) + "\r\nlast odd line\r\n" +
		"--o\r\nContent-Type: image/png\r\nContent-ID: <broken@x>\r\n\r\nnot a png at all\r\n" +
		"--o\r\nContent-Type: image/png\r\nContent-ID: <bomb@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(bomb) + "\r\n" +
		"--o\r\nContent-Type: image/jpeg\r\nContent-ID: <trunc@x>\r\n\r\n\xff\xd8\xff\xe0 truncated\r\n" +
		"--o\r\nContent-Type: image/png\r\nContent-ID: <good@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(smallPNG(t)) + "\r\n" +
		"--o--\r\n"
	tr.Messages = append(tr.Messages, transcript.Message{Raw: []byte(odd), InternalDate: th.clock.Now()},
		transcript.Message{Raw: []byte("no header at all, just \xff bytes"), InternalDate: th.clock.Now()})
	var buf bytes.Buffer
	if err := transcript.PDF(&buf, tr); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"bad utf-8", "tab end", "last odd line", "Message 5 of 5", customerLine} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if n := bytes.Count(buf.Bytes(), []byte("/Subtype /Image")); n != 1 {
		t.Errorf("%d images in the PDF, want the one good inline image", n)
	}
	if _, err := transcript.Text(tr); err != nil {
		t.Error(err)
	}
}

// smallPNG is a 40×30 picture with an alpha channel.
func smallPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPDFBounded: past MaxPDFText the PDF names the messages it left out.
func TestPDFBounded(t *testing.T) {
	tr := benchThread(transcript.MaxPDFText/4000 + 20)
	var buf bytes.Buffer
	if err := transcript.PDF(&buf, tr); err != nil {
		t.Fatal(err)
	}
	if text := pdfText(t, buf.Bytes()); !strings.Contains(text, "more messages left out") {
		t.Error("the PDF of a thread over MaxPDFText has no note of what it left out")
	}
}

// cjkFont is a TrueType font with CJK glyphs: IPA Gothic (Debian
// fonts-ipafont-gothic, installed by .ci/run).
const cjkFont = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"

// TestPDFFontRendersCJK: with crm.pdf_font naming a CJK font the
// Japanese line is in the PDF as written.
func TestPDFFontRendersCJK(t *testing.T) {
	ttf, err := os.ReadFile(cjkFont)
	if err != nil {
		t.Fatalf("%v: the test needs a CJK TrueType font (apt-get install fonts-ipafont-gothic; .ci/run installs it)", err)
	}
	if err := transcript.SetPDFFont(ttf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { transcript.SetPDFFont(nil) })
	th := newThread(t)
	var buf bytes.Buffer
	if err := transcript.PDF(&buf, th.load(t)); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{cjkLine, customerLine, agentLine, th.id} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if err := transcript.SetPDFFont([]byte("not a font at all")); err == nil {
		t.Error("SetPDFFont took bytes that are no font")
	}
}

// TestForwardedMessagesListed: Thunderbird's Forward As Attachment
// (multipart/mixed with a message/rfc822 part named Subject.eml) and an
// attached message without a name are listed as attachments, the first
// by its file name, the second by its subject; mutt's inline forward is
// text.
func TestForwardedMessagesListed(t *testing.T) {
	inner := "From: Dave <dave@partner.test>\r\nTo: carla@customer.test\r\nSubject: Delivery 4471\r\nDate: Mon, 2 Mar 2026 08:00:00 +0100\r\n\r\nShipped today.\r\n"
	tbForward := "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Fwd: Delivery 4471\r\nMessage-ID: <fw1@customer.test>\r\n" +
		"MIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\nContent-Type: multipart/mixed;\r\n boundary=\"------------fwd0001\"\r\n\r\n" +
		"This is a multi-part message in MIME format.\r\n--------------fwd0001\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\nSee below.\r\n\r\n" +
		"--------------fwd0001\r\nContent-Type: message/rfc822; charset=UTF-8; name=\"Delivery 4471.eml\"\r\nContent-Disposition: attachment; filename=\"Delivery 4471.eml\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		inner + "\r\n--------------fwd0001--\r\n"
	unnamed := "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Fwd: again\r\nMessage-ID: <fw2@customer.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=u\r\n\r\n--u\r\nContent-Type: text/plain\r\n\r\nagain\r\n--u\r\nContent-Type: message/rfc822\r\n\r\n" + inner + "--u--\r\n"
	mutt := "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Delivery 4471 (fwd)\r\nMessage-ID: <fw3@customer.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Disposition: inline\r\nUser-Agent: Mutt/2.2.12 (2023-09-09)\r\n\r\n" +
		"FYI\r\n\r\n----- Forwarded message from Dave <dave@partner.test> -----\r\n\r\nDate: Mon, 2 Mar 2026 08:00:00 +0100\r\nFrom: Dave <dave@partner.test>\r\nTo: carla@customer.test\r\nSubject: Delivery 4471\r\n\r\nShipped today.\r\n\r\n----- End forwarded message -----\r\n"
	var tr transcript.Thread
	tr.Session.ID = "S-FWD01"
	for _, raw := range []string{tbForward, unnamed, mutt} {
		tr.Messages = append(tr.Messages, transcript.Message{Raw: []byte(raw)})
	}
	text, err := transcript.Text(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("Delivery 4471.eml (message/rfc822, %d bytes)", len(inner)),
		"See below.",
		"----- Forwarded message from Dave <dave@partner.test> -----\n\nDate: Mon, 2 Mar 2026 08:00:00 +0100",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
	if n := strings.Count(text, "Delivery 4471.eml (message/rfc822"); n != 2 {
		t.Errorf("%d attached messages listed, want 2:\n%s", n, text)
	}
}
