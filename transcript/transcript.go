// Package transcript renders one session, its messages and its history,
// for readers outside the mail client: the CRM feed (text comments, the PDF
// transcript, the metadata file) and the archive. It only reads the store.
package transcript

import (
	"slices"
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
