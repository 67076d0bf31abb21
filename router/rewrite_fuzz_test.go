package router

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"
)

// FuzzSignature feeds arbitrary messages through the signature and
// attachment-limit rewrite of outgoing mail. It must never panic; what it
// accepts must keep a readable header, and a message without text parts
// must come out byte for byte.
func FuzzSignature(f *testing.F) {
	for _, seed := range []string{
		"Subject: x\r\n\r\nplain\r\n",
		"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\np\r\n--b\r\nContent-Type: text/html\r\n\r\n<body>h</body>\r\n--b--\r\n",
		"Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--m--\r\n",
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n",
		"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a--\r\n",
		"Content-Type: text/plain; charset=x-unknown\r\n\r\n\xff\xfe\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		i := bytes.Index(raw, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		body := raw[i+4:]
		b := bodyRewrite{sigText: "Agent\nCompany", maxCount: 3, maxBytes: 1 << 20}
		nh, out, err := b.rewrite(h, body)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		textproto.WriteHeader(&buf, nh)
		if _, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(append(buf.Bytes(), out...)))); err != nil {
			t.Fatalf("rewritten header unreadable: %v", err)
		}
		if !b.doneText && !b.doneHTML && !strings.Contains(strings.ToLower(h.Get("Content-Type")), "multipart") && !bytes.Equal(out, body) {
			t.Fatalf("an unsigned single part changed:\n%q\n%q", body, out)
		}
	})
}
