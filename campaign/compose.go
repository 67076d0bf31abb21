package campaign

import (
	"bytes"
	"fmt"
	"html"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// letter is what one campaign message is made of.
type letter struct {
	c           store.Campaign
	tpl         config.Template
	row         store.CampaignRecipient
	unsubscribe string // the one-click URL
	now         time.Time
}

func (l letter) fill(s string) string { return expand(s, l.c.Columns, l.row.Values, nil) }

// compose builds the message of l for the session id:
//
//   - From the queue, Reply-To the session's reply address, so the
//     customer's answer threads into the session;
//   - List-Unsubscribe (the one-click URL and a mailto to the reply
//     address with subject "unsubscribe") and List-Unsubscribe-Post
//     (RFC 8058), Precedence: bulk;
//   - no Auto-Submitted: the message asks for a human answer, and RFC
//     3834 responders and many clients treat auto-submitted mail as
//     mail not to answer; X-Auto-Response-Suppress and Precedence keep
//     out-of-office replies away instead;
//   - the template's text and HTML, and with an event a text/calendar
//     METHOD:REQUEST alternative plus the same as an invite.ics
//     attachment (what Thunderbird and Outlook show as an invitation).
func (l letter) compose(id router.CampaignIdentity) ([]byte, error) {
	var h message.Header
	h.Set("From", id.From)
	h.Set("To", (&mail.Address{Address: l.row.Email}).String())
	if id.ReplyTo != "" {
		h.Set("Reply-To", id.ReplyTo)
	}
	h.Set("Subject", mime.QEncoding.Encode("utf-8", l.fill(l.tpl.Subject)))
	h.Set("Date", l.now.Format(time.RFC1123Z))
	h.Set("Message-Id", fmt.Sprintf("<campaign-%d-%d-%s@%s>", l.c.ID, l.row.Row, strings.ToLower(id.Session), id.Hostname))
	h.Set("Mime-Version", "1.0")
	h.Set("List-Unsubscribe", "<"+l.unsubscribe+">, <mailto:"+id.Sender+"?subject=unsubscribe>")
	h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	h.Set("Precedence", "bulk")
	h.Set("X-Auto-Response-Suppress", "OOF, AutoReply")
	h.Set("X-Mxdesk-Session", id.Session)
	h.Set("X-Mxdesk-Campaign", fmt.Sprint(l.c.ID))
	root, err := l.body(id)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := root.write(&buf, h); err != nil {
		return nil, fmt.Errorf("campaign %d row %d: %w", l.c.ID, l.row.Row, err)
	}
	return buf.Bytes(), nil
}

func (l letter) body(id router.CampaignIdentity) (part, error) {
	alts := []part{textPart("text/plain", nil, l.fill(l.tpl.Body))}
	if strings.TrimSpace(l.tpl.BodyHTML) != "" {
		alts = append(alts, textPart("text/html", nil, expand(l.tpl.BodyHTML, l.c.Columns, l.row.Values, html.EscapeString)))
	}
	if l.c.ICS == nil {
		if len(alts) == 1 {
			return alts[0], nil
		}
		return multipart("alternative", alts...), nil
	}
	uid := fmt.Sprintf("campaign-%d-%d@%s", l.c.ID, l.row.Row, id.Hostname)
	ics, err := invitation(l.c.ICS, uid, l.row.Email, l.fill, l.now)
	if err != nil {
		return part{}, err
	}
	alts = append(alts, textPart("text/calendar", map[string]string{"method": "REQUEST"}, string(ics)))
	var att message.Header
	att.SetContentType("application/ics", map[string]string{"name": "invite.ics"})
	att.SetContentDisposition("attachment", map[string]string{"filename": "invite.ics"})
	att.Set("Content-Transfer-Encoding", "base64")
	return multipart("mixed", multipart("alternative", alts...), part{h: att, body: ics}), nil
}

// part is one MIME part of a message being built.
type part struct {
	h    message.Header
	body []byte
	kids []part
}

func textPart(mt string, params map[string]string, text string) part {
	var h message.Header
	p := map[string]string{"charset": "utf-8"}
	for k, v := range params {
		p[k] = v
	}
	h.SetContentType(mt, p)
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	return part{h: h, body: []byte(text)}
}

func multipart(sub string, kids ...part) part {
	var h message.Header
	h.SetContentType("multipart/"+sub, nil)
	return part{h: h, kids: kids}
}

// write writes p as a whole message with the header fields of top.
func (p part) write(buf *bytes.Buffer, top message.Header) error {
	for f := p.h.Fields(); f.Next(); {
		top.Set(f.Key(), f.Value())
	}
	w, err := message.CreateWriter(buf, top)
	if err != nil {
		return err
	}
	return p.writeInto(w)
}

func (p part) writeInto(w *message.Writer) error {
	for _, k := range p.kids {
		kw, err := w.CreatePart(k.h)
		if err != nil {
			return err
		}
		if err := k.writeInto(kw); err != nil {
			return err
		}
	}
	if len(p.kids) == 0 {
		if _, err := w.Write(p.body); err != nil {
			return err
		}
	}
	return w.Close()
}
