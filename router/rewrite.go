package router

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charset tables for decodeText
	"github.com/emersion/go-message/textproto"
)

// maxMIMEDepth bounds the nesting of multiparts an agent's message may
// have: every size a client controls has a limit.
const maxMIMEDepth = 20

// bodyRewrite walks an outgoing message once: it appends the signature to
// the first text/plain and the first text/html body part (not to
// attachments) and checks the attachment limits.
type bodyRewrite struct {
	sigText string // plain-text signature, "" for none
	// ratingText and ratingHTML are the rating links that follow the
	// signature (ratingBlock), "" for none.
	ratingText, ratingHTML string
	maxCount               int
	maxBytes               int64

	count    int
	bytes    int64
	doneText bool
	doneHTML bool
}

// rewrite returns the body of a message with header h (everything after
// the header) with the signature added, and the header to write it with
// (a single text part that got the signature changes its Content-Type and
// Content-Transfer-Encoding). Parts that don't change are copied byte for
// byte. Over an attachment limit it returns a KindTooBig error.
func (b *bodyRewrite) rewrite(h textproto.Header, body []byte) (textproto.Header, []byte, error) {
	var out bytes.Buffer
	nh, err := b.part(&out, h, body, 0)
	if err != nil {
		return h, nil, err
	}
	return nh, out.Bytes(), nil
}

// part writes the (possibly changed) body of one MIME part with header h
// and raw (transfer-encoded) body to w and returns its header.
func (b *bodyRewrite) part(w io.Writer, h textproto.Header, body []byte, depth int) (textproto.Header, error) {
	if depth > maxMIMEDepth {
		return h, errorf(KindInvalid, "MIME parts nested deeper than %d", maxMIMEDepth)
	}
	mh := message.Header{Header: h}
	mt, params, _ := mh.ContentType()
	if mt == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		return h, b.multipart(w, body, params["boundary"], depth)
	}
	disp, dparams, _ := mh.ContentDisposition()
	attachment := disp == "attachment" || dparams["filename"] != "" || params["name"] != ""
	if attachment || (!strings.HasPrefix(mt, "text/") && mt != "message/rfc822" && !strings.HasPrefix(mt, "multipart/")) {
		if err := b.countAttachment(h, body); err != nil {
			return h, err
		}
	} else if (b.sigText != "" || b.ratingText != "") && ((mt == "text/plain" && !b.doneText) || (mt == "text/html" && !b.doneHTML)) {
		if nh, ok := b.sign(w, h, body, mt, params); ok {
			return nh, nil
		}
	}
	_, err := w.Write(body)
	return h, err
}

func (b *bodyRewrite) multipart(w io.Writer, body []byte, boundary string, depth int) error {
	mr := textproto.NewMultipartReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errorf(KindInvalid, "cannot read a MIME part: %v", err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return errorf(KindInvalid, "cannot read a MIME part: %v", err)
		}
		var part bytes.Buffer
		ph, err := b.part(&part, p.Header, raw, depth+1)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "--%s\r\n", boundary)
		if err := textproto.WriteHeader(w, ph); err != nil {
			return err
		}
		w.Write(part.Bytes())
		fmt.Fprint(w, "\r\n")
	}
	_, err := fmt.Fprintf(w, "--%s--\r\n", boundary)
	return err
}

// countAttachment counts one attachment, by its decoded size, against the
// limits.
func (b *bodyRewrite) countAttachment(h textproto.Header, body []byte) error {
	n := int64(len(body))
	if e, err := message.New(message.Header{Header: h}, bytes.NewReader(body)); err == nil {
		if decoded, err := io.Copy(io.Discard, e.Body); err == nil {
			n = decoded
		}
	}
	b.count++
	b.bytes += n
	if b.count > b.maxCount {
		return errorf(KindTooBig, "more than %d attachments (policy.max_attachments)", b.maxCount)
	}
	if b.bytes > b.maxBytes {
		return errorf(KindTooBig, "attachments larger than %d bytes in total (policy.max_attachment_bytes)", b.maxBytes)
	}
	return nil
}

// sign writes a text part with the signature appended, re-encoded as
// UTF-8 quoted-printable. ok is false when the part can't be decoded
// (unknown charset or encoding): it is then left as it was.
func (b *bodyRewrite) sign(w io.Writer, h textproto.Header, body []byte, mt string, params map[string]string) (textproto.Header, bool) {
	text, err := decodeText(h, body)
	if err != nil {
		return h, false
	}
	if mt == "text/plain" {
		b.doneText = true
		if b.sigText != "" {
			text = appendTextSignature(text, b.sigText)
		}
		if b.ratingText != "" {
			text = appendTextBlock(text, b.ratingText)
		}
	} else {
		b.doneHTML = true
		if b.sigText != "" {
			text = appendHTMLSignature(text, b.sigText)
		}
		if b.ratingHTML != "" {
			text = appendHTMLBlock(text, b.ratingHTML)
		}
	}
	nh := h.Copy()
	if params == nil {
		params = map[string]string{}
	}
	params["charset"] = "utf-8"
	nh.Set("Content-Type", mime.FormatMediaType(mt, params))
	nh.Set("Content-Transfer-Encoding", "quoted-printable")
	qw := quotedprintable.NewWriter(w)
	qw.Write([]byte(text))
	qw.Close()
	return nh, true
}

// decodeText decodes a text part's transfer encoding and charset to UTF-8
// (go-message converts charsets: this package imports its charset
// tables).
func decodeText(h textproto.Header, body []byte) (string, error) {
	e, err := message.New(message.Header{Header: h}, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	data, err := io.ReadAll(e.Body)
	return string(data), err
}

// appendTextSignature adds the signature below a "-- " separator (RFC
// 3676 4.3), unless the text already ends with it.
func appendTextSignature(text, sig string) string {
	sig = strings.ReplaceAll(strings.ReplaceAll(sig, "\r\n", "\n"), "\n", "\r\n")
	if strings.Contains(text, sig) {
		return text
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\r\n"
	}
	return text + "\r\n-- \r\n" + sig + "\r\n"
}

// appendHTMLSignature adds the signature before </body>, or at the end.
func appendHTMLSignature(doc, sig string) string {
	block := `<div class="mxdesk-signature"><br>-- <br>` +
		strings.ReplaceAll(html.EscapeString(strings.TrimRight(sig, "\r\n")), "\n", "<br>\n") + `</div>`
	if strings.Contains(doc, `class="mxdesk-signature"`) {
		return doc
	}
	return appendHTMLBlock(doc, block)
}

// appendHTMLBlock adds block before </body>, or at the end.
func appendHTMLBlock(doc, block string) string {
	if i := strings.LastIndex(strings.ToLower(doc), "</body>"); i >= 0 {
		return doc[:i] + block + doc[i:]
	}
	return doc + block
}

// appendTextBlock adds block after a blank line.
func appendTextBlock(text, block string) string {
	if !strings.HasSuffix(text, "\n") {
		text += "\r\n"
	}
	return text + "\r\n" + block
}
