package imapmsg

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Envelope returns the ENVELOPE of a message (RFC 3501 §7.4.2, RFC 9051
// §7.5.2). It never returns nil.
//
// Date is zero when missing or unparseable (written as NIL). Subject and
// display names are RFC 2047 decoded (go-imap encodes them again when it
// writes the response). Address groups are kept as start and end markers;
// Sender and Reply-To default to From when absent or empty, as RFC 3501
// requires. In-Reply-To and Message-ID hold message identifiers without
// angle brackets, which go-imap adds back.
func Envelope(raw []byte) *imap.Envelope {
	hdr, _ := splitMessage(raw)
	return envelope(parseHeader(hdr))
}

func envelope(h header) *imap.Envelope {
	env := &imap.Envelope{
		From:    addressList(h, "From"),
		Sender:  addressList(h, "Sender"),
		ReplyTo: addressList(h, "Reply-To"),
		To:      addressList(h, "To"),
		Cc:      addressList(h, "Cc"),
		Bcc:     addressList(h, "Bcc"),
	}
	if v, ok := h.get("Date"); ok {
		env.Date, _ = parseDate(v)
	}
	if v, ok := h.get("Subject"); ok {
		env.Subject = clean(decodeWords(v))
	}
	// RFC 3501 §7.4.2: "If the Sender or Reply-To lines are absent in the
	// [RFC-2822] header, or are present but empty, the server sets the
	// corresponding member of the envelope to be the same value as the from
	// member".
	if len(env.Sender) == 0 {
		env.Sender = env.From
	}
	if len(env.ReplyTo) == 0 {
		env.ReplyTo = env.From
	}
	if v, ok := h.get("In-Reply-To"); ok {
		env.InReplyTo = msgIDs(v)
	}
	if v, ok := h.get("Message-Id"); ok {
		if ids := msgIDs(v); len(ids) > 0 {
			env.MessageID = ids[0]
		}
	}
	return env
}

func addressList(h header, key string) []imap.Address {
	v, ok := h.get(key)
	if !ok {
		return nil
	}
	return parseAddressList(v)
}

// msgIDs extracts the message identifiers (RFC 5322 §3.6.4) of a
// Message-ID, In-Reply-To or References value, without angle brackets. The
// obsolete phrases of In-Reply-To (§4.5.4) are skipped. A value without any
// bracketed identifier that is a single word with "@" is taken as one
// identifier, as some software writes them bare.
func msgIDs(v string) []string {
	v = stripComments(v)
	var ids []string
	for {
		lt := strings.IndexByte(v, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(v[lt:], '>')
		if gt < 0 {
			break
		}
		if id := removeWSP(clean(v[lt+1 : lt+gt])); id != "" && !strings.ContainsAny(id, "<>") {
			ids = append(ids, id)
		}
		v = v[lt+gt+1:]
	}
	if len(ids) == 0 {
		if f := strings.Fields(v); len(f) == 1 && strings.Contains(f[0], "@") && !strings.ContainsAny(f[0], "<>") {
			ids = append(ids, removeWSP(clean(f[0])))
		}
	}
	return ids
}

// References returns the message identifiers of a message's References
// field, without angle brackets, oldest first (THREAD=REFERENCES).
func References(raw []byte) []string {
	hdr, _ := splitMessage(raw)
	v, _ := parseHeader(hdr).get("References")
	return msgIDs(v)
}
