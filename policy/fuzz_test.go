package policy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// FuzzInspect feeds arbitrary messages to Inspect. It must never panic;
// what it returns must parse as a message and hold nothing left to
// remove; a message with nothing removed must come out byte for byte.
func FuzzInspect(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nplain\r\n"))
	f.Add(testMessage(multipart("mixed", "b", textPart("hi"), attachment("application/x-msdownload", "a.exe", samplePE()))))
	f.Add(testMessage(multipart("mixed", "b", textPart("hi"), attachment("application/pdf", "a.pdf", samplePDF()), attachment("image/png", "a.png", samplePNG(f)))))
	f.Add(testMessage(attachment("application/zip", "a.zip", samplePlainZip(f))))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: application/x-msdownload\r\n\r\nMZ\r\n--a--\r\n--a--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQ29udGVudC1UeXBlOiBhcHBsaWNhdGlvbi96aXANCg0KUEsDBA==\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Disposition: attachment; filename*0=\"a.\"; filename*1=\"bat\"\r\n\r\n@echo off\r\n--a"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=\"x\r\n\r\n--x\r\n\r\n--x--"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhi\n--x\nBad line\n\n--x--\n"))
	f.Add([]byte("Content-Type: text/plain\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04"))
	rules := DefaultRules()
	rules.MaxAttachments = 3
	rules.MaxAttachmentBytes = 4096
	rules.MaxDepth = 8
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := Inspect(context.Background(), raw, rules, nil)
		if err != nil {
			var le *LimitError
			if !errors.As(err, &le) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if len(res.Removed) == 0 && !bytes.Equal(res.Clean, raw) {
			t.Fatalf("nothing removed but the message changed:\n%q\n%q", raw, res.Clean)
		}
		if _, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(res.Clean))); err != nil {
			t.Fatalf("clean message unreadable: %v\n%q", err, res.Clean)
		}
		again, err := Inspect(context.Background(), res.Clean, rules, nil)
		if err != nil {
			t.Fatalf("inspecting the clean message: %v\n%q\n%q", err, raw, res.Clean)
		}
		if len(again.Removed) > 0 {
			t.Fatalf("the clean message still has removable parts %+v:\n%q\n%q", again.Removed, raw, res.Clean)
		}
	})
}
