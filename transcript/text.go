package transcript

import (
	"fmt"
	"strings"
	"time"
)

// MaxText bounds the whole text transcript: a session with many large
// messages gives its first MaxText bytes and a note.
const MaxText = 4 << 20

// truncatedNote ends a body cut at MaxBodyText.
const truncatedNote = "[… message truncated: the rest is in the mail client]"

// Text is the whole thread as plain text: each message's headers (Date,
// From, To, Cc, Subject), its text body and its attachments' names,
// types and sizes. Quoted history stays as the sender wrote it.
func Text(t Thread) (string, error) {
	var b strings.Builder
	writeTitle(&b, t)
	for i, m := range t.Messages {
		var one strings.Builder
		writeMessage(&one, i+1, len(t.Messages), m, Parse(m.Raw))
		if b.Len()+one.Len() > MaxText {
			fmt.Fprintf(&b, "\n[… %d more messages left out: the transcript is limited to %d bytes]\n", len(t.Messages)-i, MaxText)
			break
		}
		b.WriteString(one.String())
	}
	return b.String(), nil
}

func writeTitle(b *strings.Builder, t Thread) {
	s := t.Session
	fmt.Fprintf(b, "Session %s: %s\n", s.ID, s.Subject)
	fmt.Fprintf(b, "Queue: %s\nCustomer: %s\nStatus: %s\n", s.Queue, s.Customer, s.Status)
	if s.Agent != "" {
		fmt.Fprintf(b, "Agent: %s\n", s.Agent)
	}
	fmt.Fprintf(b, "Created: %s\n", formatTime(s.Created))
}

func writeMessage(b *strings.Builder, n, total int, m Message, p Parsed) {
	fmt.Fprintf(b, "\n======== Message %d of %d (%s) ========\n", n, total, directionLabel(p.Direction))
	for _, f := range headerLines(m, p) {
		fmt.Fprintf(b, "%s: %s\n", f[0], f[1])
	}
	b.WriteString("\n")
	b.WriteString(strings.TrimRight(p.Text, "\n"))
	b.WriteString("\n")
	if p.Truncated {
		b.WriteString(truncatedNote + "\n")
	}
	if len(p.Attachments) > 0 {
		b.WriteString("\nAttachments:\n")
		for _, a := range p.Attachments {
			fmt.Fprintf(b, "  - %s\n", attachmentLine(a))
		}
	}
}

// headerLines are the headers every rendering shows, in order; empty ones
// left out. A message without a Date header shows when it arrived.
func headerLines(m Message, p Parsed) [][2]string {
	date := p.DateText
	if date == "" {
		date = formatTime(m.InternalDate)
	}
	var out [][2]string
	for _, f := range [][2]string{{"Date", date}, {"From", p.From}, {"To", p.To}, {"Cc", p.Cc}, {"Subject", p.Subject}} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}

func attachmentLine(a Attachment) string {
	name := a.Name
	if name == "" {
		name = "(no name)"
	}
	return fmt.Sprintf("%s (%s, %s)", name, a.Type, humanSize(a.Size))
}

func directionLabel(d string) string {
	switch d {
	case Inbound:
		return "received"
	case Internal:
		return "internal note"
	}
	return "sent"
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
