package imapmsg

import (
	"fmt"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// wire renders a body structure in the syntax of RFC 3501 §9 (body), close
// to what go-imap writes, for readable test expectations.
func wire(bs imap.BodyStructure, extended bool) string {
	var b strings.Builder
	writeBS(&b, bs, extended)
	return b.String()
}

func writeBS(b *strings.Builder, bs imap.BodyStructure, extended bool) {
	b.WriteByte('(')
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		fmt.Fprintf(b, "%q %q %s %s %s %q %d", bs.Type, bs.Subtype, wireParamList(bs.Params), nstr(bs.ID), nstr(bs.Description), bs.Encoding, bs.Size)
		if m := bs.MessageRFC822; m != nil {
			b.WriteString(" ")
			b.WriteString(wireEnvelope(m.Envelope))
			b.WriteString(" ")
			writeBS(b, m.BodyStructure, extended)
			fmt.Fprintf(b, " %d", m.NumLines)
		} else if t := bs.Text; t != nil {
			fmt.Fprintf(b, " %d", t.NumLines)
		}
		if extended {
			e := bs.Extended
			fmt.Fprintf(b, " NIL %s %s %s", wireDisp(e.Disposition), wireLang(e.Language), nstr(e.Location))
		}
	case *imap.BodyStructureMultiPart:
		for _, c := range bs.Children {
			writeBS(b, c, extended)
		}
		fmt.Fprintf(b, " %q", bs.Subtype)
		if extended {
			e := bs.Extended
			fmt.Fprintf(b, " %s %s %s %s", wireParamList(e.Params), wireDisp(e.Disposition), wireLang(e.Language), nstr(e.Location))
		}
	}
	b.WriteByte(')')
}

func nstr(s string) string {
	if s == "" {
		return "NIL"
	}
	return fmt.Sprintf("%q", s)
}

func wireParamList(p map[string]string) string {
	if len(p) == 0 {
		return "NIL"
	}
	var keys []string
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var l []string
	for _, k := range keys {
		l = append(l, fmt.Sprintf("%q %q", k, p[k]))
	}
	return "(" + strings.Join(l, " ") + ")"
}

func wireDisp(d *imap.BodyStructureDisposition) string {
	if d == nil {
		return "NIL"
	}
	return fmt.Sprintf("(%q %s)", d.Value, wireParamList(d.Params))
}

func wireLang(l []string) string {
	if len(l) == 0 {
		return "NIL"
	}
	var q []string
	for _, s := range l {
		q = append(q, fmt.Sprintf("%q", s))
	}
	return "(" + strings.Join(q, " ") + ")"
}

func wireEnvelope(e *imap.Envelope) string {
	date := "NIL"
	if !e.Date.IsZero() {
		date = fmt.Sprintf("%q", e.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	var irt string
	if len(e.InReplyTo) > 0 {
		irt = "<" + strings.Join(e.InReplyTo, "> <") + ">"
	}
	var mid string
	if e.MessageID != "" {
		mid = "<" + e.MessageID + ">"
	}
	return fmt.Sprintf("(%s %s %s %s %s %s %s %s %s %s)", date, nstr(e.Subject),
		wireAddrs(e.From), wireAddrs(e.Sender), wireAddrs(e.ReplyTo),
		wireAddrs(e.To), wireAddrs(e.Cc), wireAddrs(e.Bcc), nstr(irt), nstr(mid))
}

func wireAddrs(l []imap.Address) string {
	if len(l) == 0 {
		return "NIL"
	}
	var b strings.Builder
	b.WriteByte('(')
	for _, a := range l {
		fmt.Fprintf(&b, "(%s NIL %s %s)", nstr(a.Name), nstr(a.Mailbox), nstr(a.Host))
	}
	b.WriteByte(')')
	return b.String()
}
