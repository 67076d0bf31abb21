package router

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/store"
)

// undatedTemplate is the date templates were once filed with; such a
// template is filed again with a real date (they showed as 1/1/00).
var undatedTemplate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// templateFlags are the flags a template is filed with: NonJunk is
// Thunderbird's "not spam" keyword, which keeps its spam filter from
// marking canned responses as spam (it does, seen in Thunderbird 153).
var templateFlags = []string{"NonJunk"}

// syncTemplates makes the agent's Templates folder hold exactly the
// [[template]] entries of the agent's queues (and those of every queue).
// Unchanged templates keep their UID and date across restarts and
// reloads; new and edited ones are filed dated now, the time the
// configuration that brought them was loaded.
func (r *Router) syncTemplates(tx store.Tx, login string, queues []string) error {
	mb, err := tx.MailboxByName(login, TemplatesFolder)
	if err != nil {
		return err
	}
	now := r.now().Truncate(time.Second) // the Date header has seconds only
	want := map[string][]byte{}          // Message-ID -> message
	var order []string
	for _, t := range r.config().Template {
		if t.Queue != "" && !slices.Contains(queues, t.Queue) {
			continue
		}
		id, raw := r.renderTemplate(t, now)
		if _, dup := want[id]; !dup {
			order = append(order, id)
		}
		want[id] = raw
	}
	if err := noteKeywords(tx, &mb, templateFlags); err != nil {
		return err
	}
	have, err := tx.Messages(mb.ID, 0, 0)
	if err != nil {
		return err
	}
	for _, m := range have {
		body, err := tx.Blob(m.Blob)
		if err != nil {
			return err
		}
		id := headerMessageID(body)
		if _, ok := want[id]; ok && !m.InternalDate.Equal(undatedTemplate) {
			delete(want, id)
			continue
		}
		if err := tx.RemoveMessage(mb.ID, m.UID); err != nil {
			return err
		}
	}
	for _, id := range order {
		raw, ok := want[id]
		if !ok {
			continue
		}
		blob, err := tx.PutBlob(raw)
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob, Size: int64(len(raw)), Flags: slices.Clone(templateFlags), InternalDate: now})
		if err != nil {
			return err
		}
	}
	return nil
}

// renderTemplate writes a template as a plain-text message dated date
// whose Message-ID is a hash of its content, so a changed template is a
// new message and an unchanged one is recognised.
func (r *Router) renderTemplate(t config.Template, date time.Time) (id string, raw []byte) {
	cfg := r.config()
	sum := sha256.Sum256([]byte(t.Queue + "\x00" + t.Name + "\x00" + t.Subject + "\x00" + t.Body))
	id = "template-" + hex.EncodeToString(sum[:12]) + "@" + cfg.Hostname
	q := cfg.QueueByName(t.Queue)
	if q == nil {
		q = &cfg.Queue[0] // a template of every queue; validation makes sure there is one
	}
	from := netmail.Address{Name: q.Name, Address: q.Addresses[0]}
	var h textproto.Header
	h.Set("Content-Transfer-Encoding", "8bit")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Mime-Version", "1.0")
	h.Set("X-Mxdesk-Template", mime.QEncoding.Encode("utf-8", t.Name))
	h.Set("Subject", mime.QEncoding.Encode("utf-8", t.Subject))
	h.Set("Message-Id", "<"+id+">")
	h.Set("Date", date.Format(time.RFC1123Z))
	h.Set("From", from.String())
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, h); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	body := strings.ReplaceAll(strings.ReplaceAll(t.Body, "\r\n", "\n"), "\n", "\r\n")
	buf.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		buf.WriteString("\r\n")
	}
	return id, buf.Bytes()
}

// headerMessageID returns the Message-ID of a stored message without
// angle brackets, or "".
func headerMessageID(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
}
