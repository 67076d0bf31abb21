package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"mxdesk/testutil/clamdtest"
)

// existsTimeout bounds the wait for a message to show up over IMAP after
// the 250 (or a release): the server may be built with -race.
const existsTimeout = 30 * time.Second

// TestQuarantineAndAntivirus runs the content policy end to end with a
// real clamd: mail goes in through the SMTP port, the agent looks over
// IMAP, the admin uses `mxdesk quarantine` against the running server.
func TestQuarantineAndAntivirus(t *testing.T) {
	clamd := clamdtest.Start(t)
	env := newEnv(t)
	appendConfig(t, env, fmt.Sprintf("\n[policy]\nclamd = %q\n", clamd.Addr))
	srv := env.start(t)
	agent := dialAgent(t, srv.addr("imap"))

	// The sample executable: a Windows PE header and a marker to look
	// for in what the agent gets.
	pe := make([]byte, 512)
	copy(pe, "MZ")
	binary.LittleEndian.PutUint32(pe[0x3C:], 0x80)
	copy(pe[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(pe[0x84:], 0x8664)
	copy(pe[0x100:], "MXDESK-E2E-EXECUTABLE-PAYLOAD")
	peBase64 := base64.StdEncoding.EncodeToString(pe)

	t.Run("executable named .pdf", func(t *testing.T) {
		raw := attachmentMessage("q-exe@client.example", "invoice 7", "application/pdf", "invoice.pdf", pe)
		got := agent.deliver(t, func() {
			if err := sendRaw(srv.addr("smtp"), raw); err != nil {
				t.Fatalf("SMTP: %v", err)
			}
		})
		if !strings.Contains(got, `[mxdesk removed attachment "invoice.pdf" (`) || !strings.Contains(got, "executable files are not accepted. The original is kept in quarantine.]") {
			t.Errorf("the agent's copy has no note naming invoice.pdf:\n%s", got)
		}
		if strings.Contains(got, peBase64[:40]) || strings.Contains(got, "MXDESK-E2E-EXECUTABLE-PAYLOAD") {
			t.Errorf("the agent's copy holds the executable:\n%s", got)
		}
		session := headerValue(got, "X-Mxdesk-Session")

		id := quarantineEntry(t, env, session, `part 2 "invoice.pdf" (application/vnd.microsoft.portable-executable): blocked type exe`)
		status, out, errOut := runMxdesk(t, "quarantine", "show", id, "--config", env.configPath)
		if status != 0 {
			t.Fatalf("quarantine show %s: status %d\n%s%s", id, status, out, errOut)
		}
		for _, want := range []string{"Session        " + session, "Envelope from  customer@client.example", "Removed (1)",
			`part 2 "invoice.pdf"`, "Header of the original", "  Subject: invoice 7\n", "  Message-ID: <q-exe@client.example>\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("quarantine show lacks %q:\n%s", want, out)
			}
		}
		status, out, _ = runMxdesk(t, "quarantine", "show", id, "--raw", "--config", env.configPath)
		if status != 0 || !strings.Contains(out, peBase64[:40]) {
			t.Errorf("quarantine show --raw: status %d, no executable in:\n%s", status, out)
		}

		released := agent.deliver(t, func() {
			status, out, errOut := runMxdesk(t, "quarantine", "release", id, "--config", env.configPath)
			if want := "quarantine " + id + " released: the original is filed in session " + session + "\n"; status != 0 || out != want {
				t.Fatalf("quarantine release: status %d, stdout %q, stderr %q; want %q", status, out, errOut, want)
			}
		})
		if headerValue(released, "X-Mxdesk-Session") != session || headerValue(released, "X-Mxdesk-Released") != "from quarantine "+id ||
			!strings.Contains(released, peBase64[:40]) || !strings.Contains(released, "Message-ID: <q-exe@client.example>") {
			t.Errorf("the released original, in session %s with the executable, is not what the agent got:\n%s", session, released)
		}
		status, out, _ = runMxdesk(t, "quarantine", "list", "--config", env.configPath)
		if status != 0 || out != "quarantine is empty\n" {
			t.Errorf("quarantine list after release: status %d\n%s", status, out)
		}
	})

	var virusID string // the quarantine entry of the virus test
	t.Run("virus", func(t *testing.T) {
		raw := attachmentMessage("q-eicar@client.example", "my readme", "text/plain", "readme.txt", clamdtest.EICAR())
		got := agent.deliver(t, func() {
			if err := sendRaw(srv.addr("smtp"), raw); err != nil {
				t.Fatalf("SMTP: %v", err)
			}
		})
		if !strings.Contains(got, `[mxdesk removed attachment "readme.txt" (text/plain): a virus was found in it (`+clamdtest.Signature) {
			t.Errorf("the agent's copy has no virus note naming readme.txt:\n%s", got)
		}
		if strings.Contains(got, "EICAR-STANDARD-ANTIVIRUS") {
			t.Errorf("the agent's copy holds the virus:\n%s", got)
		}
		virusID = quarantineEntry(t, env, headerValue(got, "X-Mxdesk-Session"), `part 2 "readme.txt" (text/plain): virus `+clamdtest.Signature)
	})

	t.Run("delete", func(t *testing.T) {
		if virusID == "" {
			t.Fatal("nothing to delete: the virus subtest quarantined nothing")
		}
		status, out, errOut := runMxdesk(t, "quarantine", "delete", virusID, "--config", env.configPath)
		if status != 0 || out != "quarantine "+virusID+" deleted\n" {
			t.Errorf("quarantine delete: status %d, stdout %q, stderr %q", status, out, errOut)
		}
		status, out, _ = runMxdesk(t, "quarantine", "list", "--config", env.configPath)
		if status != 0 || out != "quarantine is empty\n" {
			t.Errorf("quarantine list after delete: status %d\n%s", status, out)
		}
	})

	t.Run("clamd down", func(t *testing.T) {
		raw := attachmentMessage("q-down@client.example", "the contract", "application/pdf", "contract.pdf", []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"))
		before := agent.count(t)
		clamd.Stop()
		err := sendRaw(srv.addr("smtp"), raw)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 451 || !strings.Contains(se.Message, "virus scanner unavailable") {
			t.Fatalf("DATA with clamd stopped: %v, want 451 naming the virus scanner", err)
		}
		if n := agent.count(t); n != before {
			t.Errorf("%d messages in %s after the 451, want %d: nothing is stored", n, testFolder, before)
		}
		if !strings.Contains(srv.stderr.String(), `msg="virus scanner unavailable: mail waits (451)"`) {
			t.Errorf("the server did not log clamd as unavailable:\n%s", srv.logs())
		}

		clamd.Restart(t)
		got := agent.deliver(t, func() {
			if err := sendRaw(srv.addr("smtp"), raw); err != nil {
				t.Fatalf("SMTP after clamd came back: %v", err)
			}
		})
		if !strings.Contains(got, "Message-ID: <q-down@client.example>") || strings.Contains(got, "[mxdesk removed") {
			t.Errorf("the retried message is not what the agent got, whole:\n%s", got)
		}
	})

	t.Run("too deep", func(t *testing.T) {
		raw := nestedMessage("q-deep@client.example", 25) // [policy] max_depth is 20
		before := agent.count(t)
		err := sendRaw(srv.addr("smtp"), raw)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 554 || !strings.Contains(se.Message, "policy.max_depth") {
			t.Fatalf("DATA of a message nested 25 deep: %v, want 554 naming policy.max_depth", err)
		}
		if n := agent.count(t); n != before {
			t.Errorf("%d messages in %s after the 554, want %d", n, testFolder, before)
		}
	})
}

// appendConfig adds TOML to env's configuration file.
func appendConfig(t *testing.T, env *testEnv, toml string) {
	t.Helper()
	f, err := os.OpenFile(env.configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(toml); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// attachmentMessage is a message to the queue with a text body and one
// base64 attachment.
func attachmentMessage(id, subject, typ, filename string, content []byte) []byte {
	return []byte("From: Customer <customer@client.example>\r\nTo: <" + testQueueAddr + ">\r\nSubject: " + subject + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\nMessage-ID: <" + id + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n" +
		"--outer\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease see the attachment.\r\n" +
		"--outer\r\nContent-Type: " + typ + "; name=\"" + filename + "\"\r\n" +
		"Content-Disposition: attachment; filename=\"" + filename + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(content) + "\r\n--outer--\r\n")
}

// nestedMessage is a message whose text sits in depth nested multiparts.
func nestedMessage(id string, depth int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Customer <customer@client.example>\r\nTo: <" + testQueueAddr + ">\r\nSubject: deep\r\n" +
		"Message-ID: <" + id + ">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n", i-1, i)
	}
	fmt.Fprintf(&b, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep down\r\n", depth-1)
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.Bytes()
}

// sendRaw sends raw to the queue over a new SMTP connection; an
// *smtp.SMTPError is the server's refusal.
func sendRaw(smtpAddr string, raw []byte) error {
	return sendRawWithin(smtpAddr, raw, 0)
}

// sendRawWithin is sendRaw waiting up to timeout for the answer to DATA
// (0: the client's default).
func sendRawWithin(smtpAddr string, raw []byte, timeout time.Duration) error {
	c, err := dialSMTP(smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if timeout > 0 {
		c.SubmissionTimeout = timeout
	}
	if err := c.Mail("customer@client.example", nil); err != nil {
		return err
	}
	if err := c.Rcpt(testQueueAddr, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(raw); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// agentConn is the agent's IMAP connection with Queues/Support selected,
// which reports the EXISTS counts the server sends.
type agentConn struct {
	c      *imapclient.Client
	exists chan uint32
}

func dialAgent(t *testing.T, addr string) *agentConn {
	t.Helper()
	a := &agentConn{exists: make(chan uint32, 64)}
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					a.exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatalf("IMAP connect %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	a.c = c
	if err := c.Login(testLogin, testPassword).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN: %v", err)
	}
	if _, err := c.Select(testFolder, nil).Wait(); err != nil {
		t.Fatalf("SELECT %s: %v", testFolder, err)
	}
	return a
}

// count is the number of messages in the folder, selected again.
func (a *agentConn) count(t *testing.T) uint32 {
	t.Helper()
	sel, err := a.c.Select(testFolder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", testFolder, err)
	}
	return sel.NumMessages
}

// deliver runs action while idling, waits for the new message it makes
// in the folder to be announced (EXISTS) and returns the whole message
// (FETCH BODY.PEEK[]).
func (a *agentConn) deliver(t *testing.T, action func()) string {
	t.Helper()
	want := a.count(t) + 1
	for len(a.exists) > 0 {
		<-a.exists // the counts of the SELECT
	}
	idle, err := a.c.Idle()
	if err != nil {
		t.Fatalf("IDLE: %v", err)
	}
	action()
	timeout := time.After(existsTimeout)
	for n := uint32(0); n < want; {
		select {
		case n = <-a.exists:
		case <-timeout:
			t.Fatalf("no EXISTS %d in %s within %v", want, testFolder, existsTimeout)
		}
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	section := &imap.FetchItemBodySection{Peek: true}
	bufs, err := a.c.Fetch(imap.SeqSetNum(want), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil || len(bufs) != 1 || len(bufs[0].BodySection) != 1 {
		t.Fatalf("FETCH %d BODY.PEEK[]: %v", want, err)
	}
	return string(bufs[0].BodySection[0].Bytes)
}

// headerValue is the value of the first header field name in msg.
func headerValue(msg, name string) string {
	header, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, line := range strings.Split(header, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// quarantineEntry runs `mxdesk quarantine list` and returns the ID of
// the one entry of session, which removed removed.
func quarantineEntry(t *testing.T, env *testEnv, session, removed string) string {
	t.Helper()
	status, out, errOut := runMxdesk(t, "quarantine", "list", "--config", env.configPath)
	if status != 0 {
		t.Fatalf("quarantine list: status %d\n%s%s", status, out, errOut)
	}
	line := regexp.MustCompile(`(?m)^(\d+) +\d{4}-\d\d-\d\d \d\d:\d\d +` + regexp.QuoteMeta(session) + ` +customer@client\.example +` + regexp.QuoteMeta(removed))
	m := line.FindStringSubmatch(out)
	if session == "" || m == nil {
		t.Fatalf("quarantine list: no entry of session %q removing %s:\n%s", session, removed, out)
	}
	return m[1]
}
