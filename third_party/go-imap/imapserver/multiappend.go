package imapserver

import (
	"bytes"
	"fmt"
	"io"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// mxdesk: MULTIAPPEND (RFC 3502) is not in upstream's server.

// AppendMessage is one message of an APPEND, read whole.
type AppendMessage struct {
	Data    []byte
	Options *imap.AppendOptions
}

// MultiAppendData is the APPENDUID of an APPEND of several messages
// (RFC 4315 3: a UID set in the order the messages were sent).
type MultiAppendData struct {
	UIDValidity uint32
	UIDs        []imap.UID
}

// SessionMultiAppend is an IMAP session which supports MULTIAPPEND. An
// APPEND of one message still goes to Session.Append; one of several
// messages goes to AppendMulti, which must store all of them or none.
//
// The messages are read into memory before AppendMulti is called: their
// total size is bounded by the APPEND limit (SessionAppendLimit), so the
// command holds no more memory than an APPEND of one message.
type SessionMultiAppend interface {
	Session
	AppendMulti(mailbox string, msgs []AppendMessage) (*MultiAppendData, error)
}

func (c *Conn) handleMultiAppend(tag string, dec *imapwire.Decoder, mailbox string, session SessionMultiAppend) error {
	// Before any literal: a client not logged in makes the server hold
	// no message bytes.
	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		return err
	}
	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)

	msgs, err := c.readAppendMessages(dec)
	if err != nil {
		return err
	}
	if len(msgs) == 1 {
		data, err := session.Append(mailbox, bytesLiteral{bytes.NewReader(msgs[0].Data)}, msgs[0].Options)
		if err != nil {
			return err
		}
		if err := c.poll("APPEND"); err != nil {
			return err
		}
		return c.writeAppendOK(tag, data)
	}
	data, err := session.AppendMulti(mailbox, msgs)
	if err != nil {
		return err
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeMultiAppendOK(tag, data)
}

// readAppendMessages reads every message of an APPEND to its CRLF. Each
// literal must fit in what is left of the APPEND limit.
func (c *Conn) readAppendMessages(dec *imapwire.Decoder) ([]AppendMessage, error) {
	left := c.appendLimit()
	var msgs []AppendMessage
	for {
		options, dataExt, err := readAppendOptions(dec)
		if err != nil {
			return nil, err
		}
		lit, err := c.acceptAppendLiteral(dec, left)
		if err != nil {
			if len(msgs) > 0 {
				err = tooBigTogether(err, c.appendLimit())
			}
			return nil, err
		}
		// Read as it comes: a size announced is not yet memory to hold.
		data, err := io.ReadAll(lit)
		if err != nil {
			return nil, err
		}
		left -= lit.Size()
		if dataExt != "" && !dec.ExpectSpecial(')') {
			return nil, dec.Err()
		}
		msgs = append(msgs, AppendMessage{Data: data, Options: options})
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return nil, dec.Err()
	}
	return msgs, nil
}

// tooBigTogether rewords a TOOBIG refusal of a later message: it is the
// messages together that pass the limit.
func tooBigTogether(err error, limit int64) error {
	if imapErr, ok := err.(*imap.Error); ok && imapErr.Code == imap.ResponseCodeTooBig {
		return &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("The messages of one APPEND are limited to %v bytes together", limit),
		}
	}
	return err
}

func (c *Conn) writeMultiAppendOK(tag string, data *MultiAppendData) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom(tag).SP().Atom("OK").SP()
	if data != nil && len(data.UIDs) > 0 {
		var uids imap.UIDSet
		uids.AddNum(data.UIDs...)
		enc.Special('[')
		enc.Atom("APPENDUID").SP().Number(data.UIDValidity).SP().NumSet(uids)
		enc.Special(']').SP()
	}
	enc.Text("APPEND completed")
	return enc.CRLF()
}

// bytesLiteral is a message already read, as a LiteralReader.
type bytesLiteral struct{ *bytes.Reader }

func (l bytesLiteral) Size() int64 { return l.Reader.Size() }
