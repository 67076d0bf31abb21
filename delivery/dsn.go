package delivery

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// buildDSN writes the bounce of ob for the failed recipients: an RFC 3464
// delivery status notification (multipart/report) from the mail delivery
// system of hostname, with a human-readable part, the machine-readable
// message/delivery-status and the original header (text/rfc822-headers).
// It answers the original (In-Reply-To, References), so mail clients
// thread it under the message that failed.
func buildDSN(hostname string, ob store.Outbound, raw []byte, failed []result, now time.Time) []byte {
	orig := readOriginal(raw)
	boundary := randomHex(12)
	var b bytes.Buffer
	hdr := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	hdr("From", "Mail Delivery System <postmaster@"+hostname+">")
	hdr("To", "<"+ob.From+">")
	subject := "Undelivered: " + orig.subject
	if orig.subject == "" {
		subject = "Undelivered mail"
	}
	hdr("Subject", subject)
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", fmt.Sprintf("<dsn.%d.%s@%s>", ob.ID, randomHex(8), hostname))
	if orig.messageID != "" {
		hdr("In-Reply-To", orig.messageID)
		hdr("References", strings.TrimSpace(orig.references+" "+orig.messageID))
	}
	hdr("Auto-Submitted", "auto-replied")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	b.WriteString("\r\nThis is a delivery status notification (RFC 3464).\r\n")

	part := func(contentType string) {
		fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: %s\r\n", boundary, contentType)
	}
	part("text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit")
	b.WriteString("\r\n")
	writeHuman(&b, hostname, ob, orig, failed)
	part("message/delivery-status")
	b.WriteString("\r\n")
	writeStatus(&b, hostname, ob, failed, now)
	part("text/rfc822-headers")
	b.WriteString("\r\n")
	b.Write(orig.header)
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

// original is what a DSN shows of the message that failed.
type original struct {
	header     []byte // the header section as stored, CRLF line ends
	subject    string // raw (maybe RFC 2047 encoded)
	text       string // decoded subject for the human-readable part
	messageID  string // with angle brackets
	references string
}

func readOriginal(raw []byte) original {
	var o original
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if lf := bytes.Index(raw, []byte("\n\n")); end < 0 || (lf >= 0 && lf < end) {
		end = lf
	}
	if end < 0 {
		end = len(raw)
	}
	for line := range bytes.Lines(raw[:end]) {
		o.header = append(o.header, bytes.TrimRight(line, "\r\n")...)
		o.header = append(o.header, '\r', '\n')
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return o
	}
	mh := mail.Header{Header: message.Header{Header: h}}
	o.subject = oneLine(h.Get("Subject"))
	o.text, _ = mh.Subject()
	if o.text == "" {
		o.text = o.subject
	}
	if id, err := mh.MessageID(); err == nil && id != "" {
		o.messageID = "<" + id + ">"
	}
	if refs, err := mh.MsgIDList("References"); err == nil {
		for _, r := range refs[max(0, len(refs)-maxDSNRefs):] {
			o.references += "<" + r + "> "
		}
		o.references = strings.TrimSpace(o.references)
	}
	return o
}

// maxDSNRefs bounds the References a DSN carries over.
const maxDSNRefs = 20

func writeHuman(b *bytes.Buffer, hostname string, ob store.Outbound, orig original, failed []result) {
	fmt.Fprintf(b, "This is the mail delivery system at %s.\r\n\r\n", hostname)
	if len(failed) == 1 {
		b.WriteString("Your message could not be delivered to one recipient.\r\n\r\n")
	} else {
		fmt.Fprintf(b, "Your message could not be delivered to %d recipients.\r\n\r\n", len(failed))
	}
	if orig.text != "" {
		fmt.Fprintf(b, "  Subject: %s\r\n", orig.text)
	}
	fmt.Fprintf(b, "  Queued:  %s\r\n\r\n", ob.Created.Format(time.RFC1123Z))
	for _, f := range failed {
		fmt.Fprintf(b, "<%s>\r\n", f.rcpt)
		switch {
		case f.expired && f.remote != "":
			fmt.Fprintf(b, "  Delivery was tried until now without success; the last answer, from %s, was:\r\n", f.remote)
		case f.expired:
			b.WriteString("  Delivery was tried until now without success; the last error was:\r\n")
		case f.remote != "":
			fmt.Fprintf(b, "  The server %s refused it:\r\n", f.remote)
		default:
			b.WriteString("  It could not be delivered:\r\n")
		}
		fmt.Fprintf(b, "    %s\r\n\r\n", f.diagnostic())
	}
	b.WriteString("The header of your message is attached.\r\n")
}

// writeStatus writes the message/delivery-status fields (RFC 3464 2.2,
// 2.3): one per-message group, then one group per recipient.
func writeStatus(b *bytes.Buffer, hostname string, ob store.Outbound, failed []result, now time.Time) {
	fmt.Fprintf(b, "Reporting-MTA: dns; %s\r\n", hostname)
	fmt.Fprintf(b, "X-Mxdesk-Queue-ID: %d\r\n", ob.ID)
	fmt.Fprintf(b, "Arrival-Date: %s\r\n", ob.Created.Format(time.RFC1123Z))
	for _, f := range failed {
		b.WriteString("\r\n")
		fmt.Fprintf(b, "Final-Recipient: rfc822; %s\r\n", f.rcpt)
		b.WriteString("Action: failed\r\n")
		fmt.Fprintf(b, "Status: %s\r\n", f.status)
		if f.remote != "" {
			host, _, _ := strings.Cut(f.remote, " ")
			fmt.Fprintf(b, "Remote-MTA: dns; %s\r\n", host)
		}
		if f.code != 0 {
			fmt.Fprintf(b, "Diagnostic-Code: smtp; %s\r\n", oneLine(f.diagnostic()))
		} else {
			fmt.Fprintf(b, "Diagnostic-Code: X-mxdesk; %s\r\n", oneLine(f.text))
		}
		fmt.Fprintf(b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
	}
}

// oneLine makes s safe as one header field value.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
