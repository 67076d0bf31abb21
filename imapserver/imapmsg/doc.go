// Package imapmsg analyses stored messages for the IMAP server: it builds the
// ENVELOPE and BODYSTRUCTURE of a FETCH response and decides whether a message
// matches SEARCH criteria.
//
// It replaces the helpers of go-imap v2 (imapserver.ExtractEnvelope,
// imapserver.ExtractBodyStructure and the SEARCH matching of the
// imapmemserver example), which drop address groups, miss matches on decoded
// display names and produce structures some clients reject.
//
// The server's Fetch calls Envelope and BodyStructure; its Search calls
// ResolveSets once per command and then Match for each message.
//
// Everything here works on the raw message bytes as stored, never fails and
// never panics: malformed input is decoded as far as it can be, the rest is
// ignored. Work is bounded on hostile input: MIME nesting is cut at MaxDepth
// levels, a message yields at most MaxParts parts, and SEARCH BODY and TEXT
// examine at most MaxSearchText bytes of decoded text per message.
//
// References: RFC 3501 and RFC 9051 (IMAP4rev1 and IMAP4rev2: §7.4.2 /
// §7.5.2 FETCH ENVELOPE and BODYSTRUCTURE, §6.4.4 SEARCH), RFC 5322 (message
// format), RFC 2045, RFC 2046 and RFC 2231 (MIME), RFC 2047 (encoded words),
// RFC 2183 (Content-Disposition), RFC 3282 (Content-Language), RFC 2557
// (Content-Location).
package imapmsg

// Limits on the work done for one message.
const (
	// MaxDepth is how deep multiparts and embedded messages are followed.
	// A part at that depth is reported without its children.
	MaxDepth = 100
	// MaxParts is the number of MIME parts parsed in one message; further
	// parts are ignored.
	MaxParts = 10000
	// MaxSearchText is the number of bytes of decoded body text that SEARCH
	// BODY and TEXT examine in one message.
	MaxSearchText = 8 << 20
)

// Placeholders for the parts of an address that the header lacks, as Dovecot
// writes them. An empty host would read as a group marker (RFC 3501 §7.4.2).
const (
	missingMailbox = "MISSING_MAILBOX"
	missingDomain  = "MISSING_DOMAIN"
)
