package policy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

func header(t testing.TB, s string) textproto.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(s + "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func inspect(t testing.TB, raw []byte, rules Rules, sc Scanner) Result {
	t.Helper()
	res, err := Inspect(context.Background(), raw, rules, sc)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	checkClean(t, res.Clean, rules)
	return res
}

// checkClean checks that a clean message parses and that inspecting it
// again removes nothing: it holds only what was judged.
func checkClean(t testing.TB, clean []byte, rules Rules) {
	t.Helper()
	if _, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(clean))); err != nil {
		t.Fatalf("clean message unreadable: %v\n%s", err, clean)
	}
	again, err := Inspect(context.Background(), clean, rules, nil)
	if err != nil {
		t.Fatalf("inspecting the clean message: %v\n%q", err, clean)
	}
	if len(again.Removed) > 0 {
		t.Fatalf("the clean message still has removable parts: %+v\n%q", again.Removed, clean)
	}
}

const exeNote = "Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 7bit\r\n" +
	"Content-Disposition: inline\r\n" +
	"\r\n" +
	`[mxdesk removed attachment "invoice.exe" (application/x-msdownload): executable files are not accepted. The original is kept in quarantine.]` + "\r\n"

func TestInspectReplacesBlockedPart(t *testing.T) {
	text := textPart("Please find my invoice attached.\r\n")
	pdf := attachment("application/pdf", "invoice.pdf", samplePDF())
	exe := attachment("application/x-msdownload", "invoice.exe", samplePE())
	img := attachment("image/png", "photo.png", samplePNG(t))
	const preamble = "This is a multi-part message in MIME format.\r\n"
	mixed := multipart("mixed", "b1", text, pdf, exe, img)
	mixed.body = preamble + mixed.body
	raw := testMessage(mixed)

	res := inspect(t, raw, DefaultRules(), nil)
	want := Removal{Path: "3", Filename: "invoice.exe", DeclaredType: "application/x-msdownload", SniffedType: "application/vnd.microsoft.portable-executable", Reason: "blocked type exe"}
	if len(res.Removed) != 1 || res.Removed[0] != want {
		t.Fatalf("removed %+v, want %+v", res.Removed, want)
	}
	wantClean := strings.Replace(string(raw), exe.String(), exeNote, 1)
	if string(res.Clean) != wantClean {
		t.Errorf("clean message:\n%s\nwant:\n%s", res.Clean, wantClean)
	}
	if res.Attachments != 3 {
		t.Errorf("attachments = %d, want 3", res.Attachments)
	}
	if want := int64(len(samplePDF()) + len(samplePE()) + len(samplePNG(t))); res.AttachmentBytes != want {
		t.Errorf("attachment bytes = %d, want %d", res.AttachmentBytes, want)
	}
}

func TestInspectKeepsCleanMessage(t *testing.T) {
	raw := testMessage(multipart("mixed", "b", textPart("hi"), attachment("application/pdf", "a.pdf", samplePDF()), attachment("image/jpeg", "a.jpg", sampleJPEG(t))))
	raw = append(raw, "epilogue\r\n"...)
	res := inspect(t, raw, DefaultRules(), nil)
	if len(res.Removed) != 0 || !bytes.Equal(res.Clean, raw) || &res.Clean[0] != &raw[0] {
		t.Fatalf("a clean message changed: %+v", res.Removed)
	}
}

func TestInspectRootAttachment(t *testing.T) {
	// The whole message is one executable: the note replaces its body and
	// keeps From, Subject and the rest.
	raw := testMessage(attachment("application/octet-stream", "invoice.exe", samplePE()))
	res := inspect(t, raw, DefaultRules(), nil)
	if len(res.Removed) != 1 || res.Removed[0].Path != "1" {
		t.Fatalf("removed %+v", res.Removed)
	}
	want := testHeader + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\nContent-Disposition: inline\r\n\r\n" +
		`[mxdesk removed attachment "invoice.exe" (application/x-msdownload): executable files are not accepted. The original is kept in quarantine.]` + "\r\n"
	if string(res.Clean) != want {
		t.Errorf("clean message:\n%q\nwant:\n%q", res.Clean, want)
	}
}

func TestInspectNested(t *testing.T) {
	inner := []byte("From: a@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n" +
		multipart("mixed", "in", textPart("see attached"), attachment("application/zip", "stuff.zip", samplePlainZip(t))).String())
	fwd := mimePart{header: "Content-Type: message/rfc822\r\n", body: string(inner)}
	fwd64 := mimePart{header: "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n", body: wrap76(b64(inner))}
	alt := multipart("alternative", "alt", textPart("hi"), mimePart{header: "Content-Type: text/html\r\n", body: "<p>hi</p>"})
	deep := multipart("mixed", "deep", attachment("application/pdf", "ok.pdf", samplePDF()), multipart("related", "rel", attachment("image/png", "x.png", samplePNG(t)), attachment("application/octet-stream", "run.bat", []byte("@echo off\r\n"))))
	raw := testMessage(multipart("mixed", "top", alt, deep, fwd, fwd64))

	res := inspect(t, raw, DefaultRules(), nil)
	var got []string
	for _, r := range res.Removed {
		got = append(got, r.Path+" "+r.Reason)
	}
	want := []string{"2.2.2 blocked type bat", "3.2 blocked type zip", "4.2 blocked type zip"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("removed %q, want %q", got, want)
	}
	// Kept parts are byte-identical; the base64 message was encoded again
	// and now holds the note.
	for _, keep := range []string{alt.String(), attachment("application/pdf", "ok.pdf", samplePDF()).String(), textPart("see attached").String(), "From: a@example.org\r\nSubject: fwd\r\n"} {
		if !bytes.Contains(res.Clean, []byte(keep)) {
			t.Errorf("clean message lacks %q", keep)
		}
	}
	m, err := message.Read(bytes.NewReader(res.Clean))
	if err != nil {
		t.Fatal(err)
	}
	var notes int
	m.Walk(func(path []int, e *message.Entity, err error) error {
		if mt, _, _ := e.Header.ContentType(); mt == "message/rfc822" {
			body, _ := io.ReadAll(e.Body)
			notes += strings.Count(string(body), `[mxdesk removed attachment "stuff.zip" (application/zip): archive files are not accepted.`)
		}
		return nil
	})
	if notes != 2 {
		t.Errorf("%d notes in the attached messages, want 2", notes)
	}
}

func b64(b []byte) string {
	var buf bytes.Buffer
	encode(&buf, "base64", b)
	return strings.ReplaceAll(buf.String(), "\r\n", "")
}

func TestInspectAttachedEML(t *testing.T) {
	// An attachment named .eml is a message the agent's client would
	// open: its attachments are judged too.
	inner := "From: x@example.org\r\nSubject: y\r\nContent-Type: application/x-msdownload; name=a.exe\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(samplePE()) + "\r\n"
	raw := testMessage(multipart("mixed", "b", textPart("hi"), attachment("application/octet-stream", "fwd.eml", []byte(inner))))
	res := inspect(t, raw, DefaultRules(), nil)
	if len(res.Removed) != 1 || res.Removed[0].Path != "2.1" || res.Removed[0].Reason != "blocked type exe" {
		t.Fatalf("removed %+v", res.Removed)
	}
}

func TestInspectLimits(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		parts := []mimePart{textPart("hi"), attachment("application/x-msdownload", "first.exe", samplePE())}
		for i := range 12 {
			parts = append(parts, attachment("application/pdf", fmt.Sprintf("p%d.pdf", i), samplePDF()))
		}
		res := inspect(t, testMessage(multipart("mixed", "b", parts...)), DefaultRules(), nil)
		var got []string
		for _, r := range res.Removed {
			got = append(got, r.Filename+": "+r.Reason)
		}
		want := []string{"first.exe: blocked type exe", "p10.pdf: too many attachments (policy.max_attachments = 10)", "p11.pdf: too many attachments (policy.max_attachments = 10)"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("removed %q, want %q", got, want)
		}
		if res.Attachments != 13 {
			t.Errorf("attachments = %d, want 13", res.Attachments)
		}
		if !bytes.Contains(res.Clean, []byte(`[mxdesk removed attachment "p10.pdf" (application/pdf): a message may carry at most 10 attachments. The original is kept in quarantine.]`)) {
			t.Errorf("note missing:\n%s", res.Clean)
		}
	})
	t.Run("inline images don't count", func(t *testing.T) {
		related := []mimePart{{header: "Content-Type: text/html\r\n", body: "<p>hi</p>"}}
		for i := range 12 {
			img := attachment("image/png", "", samplePNG(t))
			img.header += fmt.Sprintf("Content-ID: <img%d@x>\r\nContent-Disposition: inline\r\n", i)
			related = append(related, img)
		}
		svg := attachment("image/svg+xml", "", sampleSVG())
		svg.header += "Content-ID: <svg@x>\r\n"
		related = append(related, svg)
		parts := []mimePart{multipart("related", "rel", related...)}
		for i := range 10 {
			parts = append(parts, attachment("application/pdf", fmt.Sprintf("p%d.pdf", i), samplePDF()))
		}
		res := inspect(t, testMessage(multipart("mixed", "b", parts...)), DefaultRules(), nil)
		if len(res.Removed) != 1 || res.Removed[0].Path != "1.14" || res.Removed[0].Reason != "blocked type svg" {
			t.Fatalf("removed %+v", res.Removed)
		}
		if res.Attachments != 23 {
			t.Errorf("attachments = %d, want 23", res.Attachments)
		}
	})
	t.Run("no attachments", func(t *testing.T) {
		r := DefaultRules()
		r.MaxAttachments = 0
		res := inspect(t, testMessage(multipart("mixed", "b", textPart("hi"), attachment("application/pdf", "a.pdf", samplePDF()))), r, nil)
		if len(res.Removed) != 1 || res.Removed[0].Reason != "too many attachments (policy.max_attachments = 0)" {
			t.Fatalf("removed %+v", res.Removed)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		r := DefaultRules()
		r.MaxAttachmentBytes = 1000
		big := func(name string, n int) mimePart {
			return attachment("text/plain", name, bytes.Repeat([]byte("x"), n))
		}
		res := inspect(t, testMessage(multipart("mixed", "b", big("a.txt", 400), big("b.txt", 400), big("c.txt", 400), big("d.txt", 100))), r, nil)
		if len(res.Removed) != 1 || res.Removed[0].Filename != "c.txt" || res.Removed[0].Reason != "attachments too large (policy.max_attachment_bytes = 1000)" {
			t.Fatalf("removed %+v", res.Removed)
		}
	})
	t.Run("depth", func(t *testing.T) {
		p := attachment("application/pdf", "a.pdf", samplePDF())
		for i := range 22 {
			p = multipart("mixed", fmt.Sprintf("d%d", i), p)
		}
		_, err := Inspect(context.Background(), testMessage(p), DefaultRules(), nil)
		var le *LimitError
		if !errors.As(err, &le) || le.Key != "policy.max_depth" {
			t.Fatalf("err = %v, want a policy.max_depth LimitError", err)
		}
	})
	t.Run("depth of attached messages", func(t *testing.T) {
		m := "Subject: x\r\n\r\nhi\r\n"
		for range 22 {
			m = "Subject: x\r\nContent-Type: message/rfc822\r\n\r\n" + m
		}
		_, err := Inspect(context.Background(), []byte(m), DefaultRules(), nil)
		var le *LimitError
		if !errors.As(err, &le) || le.Key != "policy.max_depth" {
			t.Fatalf("err = %v, want a policy.max_depth LimitError", err)
		}
	})
	t.Run("parts", func(t *testing.T) {
		raw := "Content-Type: multipart/mixed; boundary=x\r\n\r\n" + strings.Repeat("--x\r\n\r\nhi\r\n", 1000) + "--x--\r\n"
		_, err := Inspect(context.Background(), []byte(raw), DefaultRules(), nil)
		var le *LimitError
		if !errors.As(err, &le) || le.Key != "policy.max_parts" {
			t.Fatalf("err = %v, want a policy.max_parts LimitError", err)
		}
		raw = "Content-Type: multipart/mixed; boundary=x\r\n\r\n" + strings.Repeat("--x\r\n\r\nhi\r\n", 999) + "--x--\r\n"
		inspect(t, []byte(raw), DefaultRules(), nil)
	})
	t.Run("header fields", func(t *testing.T) {
		h := strings.Repeat("X-A: b\r\n", 1001) + "Content-Type: application/pdf\r\n"
		_, err := Inspect(context.Background(), testMessage(multipart("mixed", "b", mimePart{header: h, body: "x"})), DefaultRules(), nil)
		var le *LimitError
		if !errors.As(err, &le) || le.Key != "policy.max_headers" {
			t.Fatalf("err = %v, want a policy.max_headers LimitError", err)
		}
	})
	t.Run("header bytes", func(t *testing.T) {
		raw := []byte("Subject: " + strings.Repeat("x", 70<<10) + "\r\n\r\nhi\r\n")
		_, err := Inspect(context.Background(), raw, DefaultRules(), nil)
		var le *LimitError
		if !errors.As(err, &le) || le.Key != "policy.max_header_bytes" || !strings.Contains(le.Error(), "65536") {
			t.Fatalf("err = %v, want a policy.max_header_bytes LimitError", err)
		}
	})
}

func TestInspectMalformed(t *testing.T) {
	exe := attachment("application/x-msdownload", "invoice.exe", samplePE())
	cases := []struct {
		name    string
		raw     string
		removed []string // Path and Reason prefix of each removal
	}{
		{"no boundary", testHeader + "Content-Type: multipart/mixed\r\n\r\n--x\r\n" + exe.String() + "\r\n--x--\r\n", []string{"1 malformed MIME: multipart without a boundary"}},
		{"boundary never found", testHeader + "Content-Type: multipart/mixed; boundary=zz\r\n\r\n--x\r\n" + exe.String() + "\r\n--x--\r\n", []string{"1 malformed MIME: multipart: NextPart: EOF"}},
		{"bad part header", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x\r\nBad Header Line\r\n\r\n" + exe.body + "\r\n--x--\r\n", []string{"2 malformed MIME: message: malformed MIME header"}},
		{"unterminated multipart", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" + exe.String(), []string{"1 blocked type exe"}},
		{"conflicting Content-Type", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\nContent-Type: application/x-msdownload\r\nContent-Transfer-Encoding: base64\r\n\r\n" + exe.body + "\r\n--x--\r\n", []string{"1 malformed MIME: more than one Content-Type"}},
		{"broken Content-Type parameters", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/pdf; name=\"a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n" + exe.body + "\r\n--x--\r\n", []string{"1 blocked type exe"}},
		{"multipart with broken parameters", testHeader + "Content-Type: multipart/mixed; boundary=\"x\r\n\r\n--x\r\n" + exe.String() + "\r\n--x--\r\n", []string{"1 malformed MIME: multipart without a boundary"}},
		{"unknown transfer encoding", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/octet-stream; name=a.dat\r\nContent-Transfer-Encoding: x-weird\r\n\r\n" + string(samplePE()) + "\r\n--x--\r\n", []string{"1 blocked type exe"}},
		{"base64 with junk", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!" + exe.body + "\r\n--x--\r\n", []string{"1 blocked type exe"}},
		{"unreadable attached message", testHeader + "Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n bad first line\r\n\r\nhi\r\n--x--\r\n", []string{"1 malformed MIME: attached message"}},
		{"LF line ends", strings.ReplaceAll(string(testMessage(multipart("mixed", "x", textPart("hi"), exe))), "\r\n", "\n"), []string{"2 blocked type exe"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := inspect(t, []byte(c.raw), DefaultRules(), nil)
			var got []string
			for _, r := range res.Removed {
				got = append(got, r.Path+" "+r.Reason)
			}
			if len(got) != len(c.removed) {
				t.Fatalf("removed %q, want %q", got, c.removed)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], c.removed[i]) {
					t.Errorf("removed %q, want %q", got[i], c.removed[i])
				}
			}
			if !bytes.HasPrefix(res.Clean, []byte(testHeader)) {
				t.Errorf("the message header changed:\n%s", res.Clean)
			}
		})
	}
	t.Run("unreadable message header", func(t *testing.T) {
		_, err := Inspect(context.Background(), []byte(" folded first line\r\n\r\nhi"), DefaultRules(), nil)
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("err = %v, want ErrMalformed", err)
		}
	})
}

// fakeScanner flags content containing "VIRUS" and counts its calls.
type fakeScanner struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (f *fakeScanner) Scan(ctx context.Context, r io.Reader) (Verdict, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.err != nil {
		return Verdict{}, f.err
	}
	b, _ := io.ReadAll(r)
	if bytes.Contains(b, []byte("VIRUS")) {
		return Verdict{Infected: true, Signature: "Test.Virus"}, nil
	}
	return Verdict{}, nil
}

func TestInspectScanner(t *testing.T) {
	raw := testMessage(multipart("mixed", "b",
		textPart("the body is not scanned: VIRUS"),
		attachment("application/pdf", "clean.pdf", samplePDF()),
		attachment("text/plain", "notes.txt", []byte("a VIRUS inside")),
		attachment("application/x-msdownload", "blocked.exe", samplePE()),
	))
	sc := &fakeScanner{}
	res := inspect(t, raw, DefaultRules(), sc)
	if sc.calls != 2 {
		t.Errorf("%d scans, want 2 (attachments passing the type check)", sc.calls)
	}
	if len(res.Removed) != 2 || res.Removed[0].Reason != "virus Test.Virus" || res.Removed[0].Virus != "Test.Virus" || res.Removed[1].Virus != "" || res.Removed[0].Path != "3" {
		t.Fatalf("removed %+v", res.Removed)
	}
	if !bytes.Contains(res.Clean, []byte(`[mxdesk removed attachment "notes.txt" (text/plain): a virus was found in it (Test.Virus). The original is kept in quarantine.]`)) {
		t.Errorf("virus note missing:\n%s", res.Clean)
	}

	down := &fakeScanner{err: errors.New("connection refused")}
	if _, err := Inspect(context.Background(), raw, DefaultRules(), down); !errors.Is(err, ErrScanUnavailable) {
		t.Errorf("err = %v, want ErrScanUnavailable", err)
	}
	tooLarge := &fakeScanner{err: fmt.Errorf("%w: more than 10 bytes", ErrScanTooLarge)}
	res, err := Inspect(context.Background(), raw, DefaultRules(), tooLarge)
	if err != nil || len(res.Removed) != 3 || !strings.HasPrefix(res.Removed[0].Reason, "too large for the virus scanner") {
		t.Errorf("too large: err %v, removed %+v", err, res.Removed)
	}
}

func TestInspectCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	raw := testMessage(multipart("mixed", "b", textPart("x"), attachment("application/pdf", "a.pdf", samplePDF())))
	if _, err := Inspect(ctx, raw, DefaultRules(), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}
