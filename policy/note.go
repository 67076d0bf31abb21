package policy

import (
	"bytes"
	"fmt"
	"mime/quotedprintable"
	"strings"
	"unicode"

	"github.com/emersion/go-message/textproto"
)

// A noteFunc writes the text that replaces a removed part, given the
// part's file name.
type noteFunc func(filename string) string

const noteTail = " The original is kept in quarantine.]"

// noteType is the note for an attachment removed for reason, shown with
// its type: [mxdesk removed attachment "invoice.exe"
// (application/x-msdownload): executable files are not accepted. The
// original is kept in quarantine.]
func noteType(typ, reason string) noteFunc {
	return func(filename string) string {
		what := "an attachment"
		if filename != "" {
			what = fmt.Sprintf("attachment %q", printable(filename))
		}
		return fmt.Sprintf("[mxdesk removed %s (%s): %s.", what, typ, reason) + noteTail
	}
}

// noteBlocked is the note for an attachment of a blocked type.
func noteBlocked(j judged) noteFunc {
	reason := fmt.Sprintf("files of type %s are not accepted", j.label())
	switch j.class() {
	case classExecutable:
		reason = "executable files are not accepted"
	case classArchive:
		reason = "archive files are not accepted"
	}
	return noteType(j.primary(), reason)
}

// noteMalformed is the note for what can't be read of a message.
func noteMalformed(filename string) string {
	what := "a part of this message"
	if filename != "" {
		what = fmt.Sprintf("attachment %q", printable(filename))
	}
	return "[mxdesk removed " + what + " that could not be read (malformed MIME)." + noteTail
}

// printable makes a file name safe to quote in a note: no control or
// format characters (a right-to-left override would hide the real
// extension), at most 200 characters.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 && s[i] != '\r' && s[i] != '\n' {
			return false
		}
	}
	return true
}

// note builds the part that replaces a removed one: its header without
// the Content- fields, in their order (a message keeps From, Subject and
// the rest), then a visible inline text/plain body.
func note(h textproto.Header, message bool, text string) []byte {
	var b bytes.Buffer
	for f := h.Fields(); f.Next(); {
		if raw, err := f.Raw(); err == nil && !strings.HasPrefix(strings.ToLower(f.Key()), "content-") {
			b.Write(raw)
		}
	}
	if message && !h.Has("Mime-Version") {
		b.WriteString("MIME-Version: 1.0\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	plain := len(text) < 900 && isASCII(text)
	if plain {
		b.WriteString("Content-Transfer-Encoding: 7bit\r\nContent-Disposition: inline\r\n\r\n")
		b.WriteString(text + "\r\n")
		return b.Bytes()
	}
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\nContent-Disposition: inline\r\n\r\n")
	qw := quotedprintable.NewWriter(&b)
	qw.Write([]byte(text + "\r\n"))
	qw.Close()
	return b.Bytes()
}
