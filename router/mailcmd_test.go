package router_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-message"

	"mxdesk/router"
)

// bodyParts decodes the text parts of a queued message by media type,
// failing when its MIME structure does not parse; attachments are
// counted.
func bodyParts(t *testing.T, raw string) (map[string]string, int) {
	t.Helper()
	e, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("queued message does not parse: %v", err)
	}
	parts, attachments := map[string]string{}, 0
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil || p.MultipartReader() != nil {
			return err
		}
		if disp, _, _ := p.Header.ContentDisposition(); disp == "attachment" {
			attachments++
			return nil
		}
		mt, _, _ := p.Header.ContentType()
		b, err := io.ReadAll(p.Body)
		parts[mt] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("queued message's parts: %v", err)
	}
	return parts, attachments
}

// TestCommandsInMIMEShapes: the commands come out of an HTML-only
// message written without paragraphs (Thunderbird with paragraph format
// off: <br> lines) and of the text of a message with an attachment; the
// attachment and the rest stay.
func TestCommandsInMIMEShapes(t *testing.T) {
	d := newDeskWith(t, "allow_personal_queue = true\n")
	for i, c := range []struct {
		name, raw, status string
		check             func(t *testing.T, parts map[string]string, attachments int)
	}{
		{"HTML only, <br> lines", "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
			"<html><head></head><body>\r\n    #pause<br>\r\n    <br>\r\n    Dear Carla,<br>\r\n    the order left today.<br>\r\n</body></html>\r\n",
			router.StatusPaused,
			func(t *testing.T, parts map[string]string, _ int) {
				if h := parts["text/html"]; strings.Contains(h, "#pause") || !strings.Contains(h, "<body>\r\n    <br>\r\n    Dear Carla,<br>") {
					t.Errorf("HTML part:\n%q", h)
				}
			}},
		{"text and an attachment", "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n#Resolve\r\nHere is the receipt, caf=E9.\r\n--b1\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n",
			router.StatusResolved,
			func(t *testing.T, parts map[string]string, attachments int) {
				if p := parts["text/plain"]; !strings.HasPrefix(p, "Here is the receipt, café.\r\n\r\n-- \r\nErin Sand") || attachments != 1 {
					t.Errorf("text %q, %d attachments", p, attachments)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("shape%d", i)
			in := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <"+id+"@customer.test>\r\nSubject: order\r\n")
			before := len(d.outbox(t))
			raw := "From: erin@example.test\r\nTo: carla@customer.test\r\nIn-Reply-To: <" + id + "@customer.test>\r\nSubject: Re: order\r\nMIME-Version: 1.0\r\n" + c.raw
			if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, raw); err != nil {
				t.Fatal(err)
			}
			q := d.outbox(t)
			if len(q) != before+1 {
				t.Fatalf("%d queued, want %d", len(q), before+1)
			}
			parts, attachments := bodyParts(t, q[len(q)-1].Raw)
			c.check(t, parts, attachments)
			if s := session(t, d.r, in.Session); s.Status != c.status {
				t.Errorf("status %s, want %s; events %v", s.Status, c.status, eventKinds(t, d.r, in.Session))
			}
		})
	}
}
