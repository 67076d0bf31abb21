package imapclient

import (
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// ThreadOptions contains options for the THREAD command.
type ThreadOptions struct {
	Algorithm      imap.ThreadAlgorithm
	SearchCriteria *imap.SearchCriteria
}

func (c *Client) thread(numKind imapwire.NumKind, options *ThreadOptions) *ThreadCommand {
	cmd := &ThreadCommand{}
	enc := c.beginCommand(uidCmdName("THREAD", numKind), cmd)
	enc.SP().Atom(string(options.Algorithm)).SP().Atom("UTF-8").SP()
	writeSearchKey(enc.Encoder, options.SearchCriteria)
	enc.end()
	return cmd
}

// Thread sends a THREAD command.
//
// This command requires support for the THREAD extension.
func (c *Client) Thread(options *ThreadOptions) *ThreadCommand {
	return c.thread(imapwire.NumKindSeq, options)
}

// UIDThread sends a UID THREAD command.
//
// See Thread.
func (c *Client) UIDThread(options *ThreadOptions) *ThreadCommand {
	return c.thread(imapwire.NumKindUID, options)
}

func (c *Client) handleThread() error {
	cmd := findPendingCmdByType[*ThreadCommand](c)
	if !c.dec.SP() {
		return nil
	}
	// mxdesk: thread-lists follow one another without SP (RFC 5256 4,
	// "* THREAD (2)(3 6)"); upstream read only the first.
	for {
		var data ThreadData
		isList, err := c.dec.List(func() error { return readThreadItem(c.dec, &data) })
		if err != nil {
			return fmt.Errorf("in thread-list: %v", err)
		}
		if !isList {
			return nil
		}
		if cmd != nil {
			cmd.data = append(cmd.data, data)
		}
	}
}

// ThreadCommand is a THREAD command.
type ThreadCommand struct {
	commandBase
	data []ThreadData
}

func (cmd *ThreadCommand) Wait() ([]ThreadData, error) {
	err := cmd.wait()
	return cmd.data, err
}

type ThreadData struct {
	Chain      []uint32
	SubThreads []ThreadData
}

func readThreadList(dec *imapwire.Decoder) (*ThreadData, error) {
	var data ThreadData
	err := dec.ExpectList(func() error { return readThreadItem(dec, &data) })
	return &data, err
}

// readThreadItem reads a number of the chain or the nested lists that
// end it: these follow one another without SP ("1 (2)(3)").
func readThreadItem(dec *imapwire.Decoder, data *ThreadData) error {
	var num uint32
	if len(data.SubThreads) == 0 && dec.Number(&num) {
		data.Chain = append(data.Chain, num)
		return nil
	}
	for {
		var sub ThreadData
		isList, err := dec.List(func() error { return readThreadItem(dec, &sub) })
		if err != nil {
			return err
		}
		if !isList {
			if len(data.SubThreads) == 0 {
				return dec.Err()
			}
			return nil
		}
		data.SubThreads = append(data.SubThreads, sub)
	}
}
