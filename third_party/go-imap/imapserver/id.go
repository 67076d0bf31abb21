package imapserver

import (
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// mxdesk: ID (RFC 2971) is not in upstream's server. Its limits (3.3): at
// most 30 pairs, fields up to 30 bytes, values up to 1024 bytes; a client
// going past them gets BAD.
const (
	idMaxPairs    = 30
	idMaxFieldLen = 30
	idMaxValueLen = 1024
)

// SessionID is an IMAP session which supports ID (RFC 2971), in any state.
//
// ID gets the client's parameters (nil for ID NIL) and returns the
// server's (nil: ID NIL).
type SessionID interface {
	Session
	ID(client *imap.IDData) *imap.IDData
}

func (c *Conn) handleID(dec *imapwire.Decoder) error {
	client, err := readIDParams(dec)
	if err != nil {
		return err
	}
	if !dec.ExpectCRLF() {
		return dec.Err()
	}
	session, ok := c.session.(SessionID)
	if !ok {
		return newClientBugError("ID is not supported")
	}
	return writeID(c, session.ID(client))
}

// readIDParams reads id_params_list: NIL or a list of field/value pairs.
func readIDParams(dec *imapwire.Decoder) (*imap.IDData, error) {
	if !dec.ExpectSP() {
		return nil, dec.Err()
	}
	var (
		data   imap.IDData
		isNIL  = true
		pairs  int
		field  string
		odd    bool
		params []string
	)
	err := dec.ExpectNList(func() error {
		isNIL = false
		var s string
		if !odd {
			if !dec.ExpectString(&s) {
				return dec.Err()
			}
			if len(s) > idMaxFieldLen {
				return newClientBugError("ID field longer than 30 bytes")
			}
			if pairs++; pairs > idMaxPairs {
				return newClientBugError("ID with more than 30 fields")
			}
			field = strings.ToLower(s)
		} else {
			if !dec.ExpectNString(&s) {
				return dec.Err()
			}
			if len(s) > idMaxValueLen {
				return newClientBugError("ID value longer than 1024 bytes")
			}
			params = append(params, field, s)
		}
		odd = !odd
		return nil
	})
	if err != nil {
		return nil, err
	}
	if odd {
		return nil, newClientBugError("ID field without a value")
	}
	if isNIL {
		return nil, nil
	}
	for i := 0; i < len(params); i += 2 {
		if p := idField(&data, params[i]); p != nil && *p == "" {
			*p = params[i+1]
		}
	}
	return &data, nil
}

// idField is the IDData field of an RFC 2971 field name, nil if unknown.
func idField(data *imap.IDData, name string) *string {
	switch name {
	case "name":
		return &data.Name
	case "version":
		return &data.Version
	case "os":
		return &data.OS
	case "os-version":
		return &data.OSVersion
	case "vendor":
		return &data.Vendor
	case "support-url":
		return &data.SupportURL
	case "address":
		return &data.Address
	case "date":
		return &data.Date
	case "command":
		return &data.Command
	case "arguments":
		return &data.Arguments
	case "environment":
		return &data.Environment
	}
	return nil
}

var idFieldNames = []string{"name", "version", "os", "os-version", "vendor", "support-url", "address", "date", "command", "arguments", "environment"}

func writeID(c *Conn, data *imap.IDData) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ID").SP()
	var pairs []string
	if data != nil {
		for _, name := range idFieldNames {
			if v := *idField(data, name); v != "" {
				pairs = append(pairs, name, v)
			}
		}
	}
	if len(pairs) == 0 {
		enc.NIL()
	} else {
		enc.List(len(pairs), func(i int) { enc.String(pairs[i]) })
	}
	return enc.CRLF()
}
