package imapserver

import (
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// defaultAppendLimit is the default maximum size of an APPEND payload.
const defaultAppendLimit = 100 * 1024 * 1024 // 100MiB

func (c *Conn) handleAppend(tag string, dec *imapwire.Decoder) error {
	var mailbox string
	if !dec.ExpectSP() || !dec.ExpectMailbox(&mailbox) || !dec.ExpectSP() {
		return dec.Err()
	}
	if multi, ok := c.session.(SessionMultiAppend); ok {
		return c.handleMultiAppend(tag, dec, mailbox, multi) // mxdesk: RFC 3502
	}

	options, dataExt, err := readAppendOptions(dec)
	if err != nil {
		return err
	}
	lit, err := c.acceptAppendLiteral(dec, c.appendLimit())
	if err != nil {
		return err
	}

	c.setReadTimeout(literalReadTimeout)
	defer c.setReadTimeout(cmdReadTimeout)

	if err := c.checkState(imap.ConnStateAuthenticated); err != nil {
		io.Copy(io.Discard, lit)
		dec.CRLF()
		return err
	}

	data, appendErr := c.session.Append(mailbox, lit, options)
	if _, discardErr := io.Copy(io.Discard, lit); discardErr != nil {
		return err
	}
	if dataExt != "" && !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	if !dec.ExpectCRLF() {
		return err
	}
	if appendErr != nil {
		return appendErr
	}
	if err := c.poll("APPEND"); err != nil {
		return err
	}
	return c.writeAppendOK(tag, data)
}

func (c *Conn) appendLimit() int64 {
	if appendLimitSession, ok := c.session.(SessionAppendLimit); ok {
		return int64(appendLimitSession.AppendLimit())
	}
	return defaultAppendLimit
}

// readAppendOptions reads an APPEND message's flags, date and data
// extension, up to its literal.
func readAppendOptions(dec *imapwire.Decoder) (*imap.AppendOptions, string, error) {
	var options imap.AppendOptions
	hasFlagList, err := dec.List(func() error {
		flag, err := internal.ExpectFlag(dec)
		if err != nil {
			return err
		}
		options.Flags = append(options.Flags, flag)
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if hasFlagList && !dec.ExpectSP() {
		return nil, "", dec.Err()
	}

	t, err := internal.DecodeDateTime(dec)
	if err != nil {
		return nil, "", err
	}
	if !t.IsZero() && !dec.ExpectSP() {
		return nil, "", dec.Err()
	}
	options.Time = t

	var dataExt string
	if !dec.Special('~') && dec.Atom(&dataExt) { // ignore literal8 prefix if any for BINARY
		switch strings.ToUpper(dataExt) {
		case "UTF8":
			// '~' is the literal8 prefix
			if !dec.ExpectSP() || !dec.ExpectSpecial('(') || !dec.ExpectSpecial('~') {
				return nil, "", dec.Err()
			}
		default:
			return nil, "", newClientBugError("Unknown APPEND data extension")
		}
	}
	return &options, dataExt, nil
}

// acceptAppendLiteral reads a message's literal header and accepts it if
// it is at most limit bytes.
func (c *Conn) acceptAppendLiteral(dec *imapwire.Decoder, limit int64) (*imapwire.LiteralReader, error) {
	lit, nonSync, err := dec.ExpectLiteralReader()
	if err != nil {
		return nil, err
	}
	if lit.Size() > limit {
		lit.Refuse() // mxdesk: a non-synchronizing literal's bytes are not commands
		return nil, &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Literals are limited to %v bytes for this command", limit),
		}
	}
	if err := c.acceptLiteral(lit.Size(), nonSync); err != nil {
		lit.Refuse() // mxdesk: as above
		return nil, err
	}
	return lit, nil
}

func (c *Conn) writeAppendOK(tag string, data *imap.AppendData) error {
	enc := newResponseEncoder(c)
	defer enc.end()

	enc.Atom(tag).SP().Atom("OK").SP()
	if data != nil {
		enc.Special('[')
		enc.Atom("APPENDUID").SP().Number(data.UIDValidity).SP().UID(data.UID)
		enc.Special(']').SP()
	}
	enc.Text("APPEND completed")
	return enc.CRLF()
}
