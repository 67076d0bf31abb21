package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// mxdesk: THREAD (RFC 5256) is not in upstream's server.

// ThreadNode is a message of a thread and its replies; Num 0 is a
// placeholder for a message not in the result (a dummy, RFC 5256 2.2).
type ThreadNode struct {
	Num      uint32
	Children []ThreadNode
}

// SessionThread is an IMAP session which supports THREAD with the
// algorithms it advertises as THREAD=... capabilities. Thread returns the
// threads of the messages matching search, in order.
type SessionThread interface {
	Session
	Thread(kind NumKind, algorithm imap.ThreadAlgorithm, search *imap.SearchCriteria) ([]ThreadNode, error)
}

func (c *Conn) handleThread(dec *imapwire.Decoder, numKind NumKind) error {
	var name string
	if !dec.ExpectSP() || !dec.ExpectAtom(&name) {
		return dec.Err()
	}
	algorithm := imap.ThreadAlgorithm(strings.ToUpper(name))
	search, err := readCharsetAndSearchKeys(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	session, ok := c.session.(SessionThread)
	if !ok || !c.server.options.caps().Has(imap.Cap("THREAD="+string(algorithm))) {
		return newClientBugError("Unknown THREAD algorithm " + name)
	}
	threads, err := session.Thread(numKind, algorithm, search)
	if err != nil {
		return err
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("THREAD")
	if len(threads) > 0 {
		enc.SP()
	}
	for _, t := range threads {
		writeThreadList(enc.Encoder, t)
	}
	return enc.CRLF()
}

// writeThreadList writes one thread-list: a chain of single replies
// inline ("1 2 3"), two or more replies as nested lists ("1 (2)(3 4)"), a
// placeholder as nothing but its nested lists ("((2)(3))").
func writeThreadList(enc *imapwire.Encoder, n ThreadNode) {
	enc.Special('(')
	first := true
	for {
		if n.Num != 0 {
			if !first {
				enc.SP()
			}
			enc.Number(n.Num)
			first = false
		}
		if len(n.Children) != 1 {
			break
		}
		n = n.Children[0]
	}
	if len(n.Children) > 0 && !first {
		enc.SP()
	}
	for _, child := range n.Children {
		writeThreadList(enc, child)
	}
	enc.Special(')')
}
