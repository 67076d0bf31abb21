package transcript_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"mxdesk/transcript"
)

// benchThread builds a thread of n messages in memory (the renderers
// only read Thread): the router's part is measured elsewhere.
func benchThread(n int) transcript.Thread {
	var t transcript.Thread
	t.Session.ID, t.Session.Subject, t.Session.Queue, t.Session.Customer = "S-BENCH", "Broken order", "Support", "carla@customer.test"
	body := strings.Repeat(customerLine+" "+greekLine+"\r\n", 40) // ~4 KB
	for i := range n {
		raw := fmt.Sprintf("From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: Re: Broken order\r\nDate: Mon, 2 Mar 2026 09:%02d:00 +0100\r\nMessage-ID: <b%d@customer.test>\r\nX-Mxdesk-Queue: Support\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", i%60, i, body)
		t.Messages = append(t.Messages, transcript.Message{Raw: []byte(raw), InternalDate: time.Date(2026, 3, 2, 9, 0, i, 0, time.UTC), Folders: []string{"All/Support"}})
	}
	return t
}

func BenchmarkText50(b *testing.B) {
	t := benchThread(50)
	for b.Loop() {
		if _, err := transcript.Text(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMetadata50(b *testing.B) {
	t := benchThread(50)
	for b.Loop() {
		if _, err := transcript.Metadata(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPDF50(b *testing.B) {
	t := benchThread(50)
	for b.Loop() {
		if err := transcript.PDF(io.Discard, t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPDF1(b *testing.B) {
	t := benchThread(1)
	for b.Loop() {
		if err := transcript.PDF(io.Discard, t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPDFLimit is the largest PDF: MaxPDFText of text.
func BenchmarkPDFLimit(b *testing.B) {
	t := benchThread(transcript.MaxPDFText / 4000)
	for b.Loop() {
		if err := transcript.PDF(io.Discard, t); err != nil {
			b.Fatal(err)
		}
	}
}
