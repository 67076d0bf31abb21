package imapmsg

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Meta is what SEARCH needs besides the raw message.
type Meta struct {
	SeqNum       uint32
	UID          imap.UID
	Flags        []imap.Flag // includes \Recent when the message is recent for this session
	InternalDate time.Time
	Size         int64
	ModSeq       uint64 // RFC 7162
}

// Match reports whether a message matches SEARCH criteria (RFC 3501 §6.4.4,
// RFC 9051 §6.4.4). All keys go-imap parses into imap.SearchCriteria are
// handled; ModSeq (RFC 7162 3.1.5) compares with m.ModSeq, metadata
// entry names disregarded (mxdesk keeps one mod-sequence per message).
//
// The caller resolves "*" and "$" in c.SeqNum and c.UID first, with
// ResolveSets: go-imap passes them through unresolved, and Match cannot know
// the mailbox's last message. An unresolved "n:*" is taken as "n and up",
// an unresolved "$" as the empty set.
//
// Sizes compare with m.Size (len(raw) when m.Size is 0); go-imap can't tell
// LARGER 0 and SMALLER 0 from absent keys, so they match every message.
// Dates compare as calendar dates, time of day and zone disregarded:
// INTERNALDATE in the zone m.InternalDate carries, the Date header in its
// own zone; a message without a valid Date header matches no SENT* key.
// Flags compare case-insensitively.
//
// String keys match case-insensitively as substrings. HEADER (and FROM, TO,
// CC, BCC, SUBJECT, which go-imap turns into HEADER) matches the field's raw
// value or its RFC 2047 decoded value; for address fields also each parsed
// address as "Name <mailbox@host>". An empty HEADER value matches every
// message having the field. BODY searches the decoded text of the text
// parts (transfer encoding and charset undone; HTML also with its tags
// stripped) and the headers of embedded messages; TEXT searches the header
// and the body.
func Match(raw []byte, m Meta, c *imap.SearchCriteria) bool {
	if c == nil {
		return true
	}
	v := &view{raw: raw}
	return v.match(&m, c)
}

// view is a message being searched; it parses and decodes lazily and
// caches what several keys of one criteria need.
type view struct {
	raw []byte

	root       *part
	hdrFolded  map[string]*string // header key (lower case) -> folded candidates, nil if absent
	headerText *string            // folded TEXT header candidates
	bodyText   *string            // folded BODY text

	sentDate   time.Time
	sentParsed bool
	sentOK     bool
}

func (v *view) match(m *Meta, c *imap.SearchCriteria) bool {
	return v.matchMeta(m, c) && v.matchContent(c) && v.matchLogic(m, c)
}

// matchMeta checks the keys that need no parsing.
func (v *view) matchMeta(m *Meta, c *imap.SearchCriteria) bool {
	for _, set := range c.SeqNum {
		if m.SeqNum == 0 || !set.Contains(m.SeqNum) {
			return false
		}
	}
	for _, set := range c.UID {
		if m.UID == 0 || !set.Contains(m.UID) {
			return false
		}
	}
	if !matchDate(m.InternalDate, c.Since, c.Before) {
		return false
	}
	for _, f := range c.Flag {
		if !hasFlag(m.Flags, f) {
			return false
		}
	}
	for _, f := range c.NotFlag {
		if hasFlag(m.Flags, f) {
			return false
		}
	}
	size := m.Size
	if size == 0 {
		size = int64(len(v.raw))
	}
	if c.Larger != 0 && size <= c.Larger {
		return false
	}
	if c.Smaller != 0 && size >= c.Smaller {
		return false
	}
	if c.ModSeq != nil && m.ModSeq < c.ModSeq.ModSeq {
		return false
	}
	return true
}

// matchContent checks the keys on the header and body.
func (v *view) matchContent(c *imap.SearchCriteria) bool {
	if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		t, ok := v.sent()
		if !ok || !matchDate(t, c.SentSince, c.SentBefore) {
			return false
		}
	}
	for _, hf := range c.Header {
		if !v.matchHeader(hf.Key, hf.Value) {
			return false
		}
	}
	for _, s := range c.Body {
		if !strings.Contains(v.body(), fold(s)) {
			return false
		}
	}
	for _, s := range c.Text {
		pat := fold(s)
		if !strings.Contains(v.headers(), pat) && !strings.Contains(v.body(), pat) {
			return false
		}
	}
	return true
}

// matchLogic checks NOT and OR.
func (v *view) matchLogic(m *Meta, c *imap.SearchCriteria) bool {
	for i := range c.Not {
		if v.match(m, &c.Not[i]) {
			return false
		}
	}
	for i := range c.Or {
		if !v.match(m, &c.Or[i][0]) && !v.match(m, &c.Or[i][1]) {
			return false
		}
	}
	return true
}

// matchDate compares the calendar date of t (in t's zone) with the dates of
// since (inclusive) and before (exclusive), taken as go-imap gives them.
func matchDate(t, since, before time.Time) bool {
	if since.IsZero() && before.IsZero() {
		return true
	}
	d := dayNumber(t)
	if !since.IsZero() && d < dayNumber(since) {
		return false
	}
	if !before.IsZero() && d >= dayNumber(before) {
		return false
	}
	return true
}

// dayNumber numbers calendar dates, so that they compare as integers.
func dayNumber(t time.Time) int64 {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func hasFlag(flags []imap.Flag, f imap.Flag) bool {
	for _, have := range flags {
		if strings.EqualFold(string(have), string(f)) {
			return true
		}
	}
	return false
}

func (v *view) message() *part {
	if v.root == nil {
		v.root = parseMessage(v.raw)
	}
	return v.root
}

func (v *view) sent() (time.Time, bool) {
	if !v.sentParsed {
		v.sentParsed = true
		if d, ok := v.message().header.get("Date"); ok {
			v.sentDate, v.sentOK = parseDate(d)
		}
	}
	return v.sentDate, v.sentOK
}

// matchHeader implements HEADER (RFC 9051 §6.4.4): "Messages that have a
// header field with the specified field-name ... and that contains the
// specified string in the text of the header field (what comes after the
// colon). If the string to search is zero-length, this matches all messages
// that have a header field with the specified field-name regardless of the
// contents."
func (v *view) matchHeader(key, value string) bool {
	lk := strings.ToLower(key)
	if v.hdrFolded == nil {
		v.hdrFolded = map[string]*string{}
	}
	text, ok := v.hdrFolded[lk]
	if !ok {
		var b strings.Builder
		found := false
		for _, f := range v.message().header {
			if strings.EqualFold(f.key, key) {
				found = true
				writeCandidates(&b, f)
			}
		}
		if found {
			s := fold(b.String())
			text = &s
		}
		v.hdrFolded[lk] = text
	}
	if text == nil {
		return false
	}
	return value == "" || strings.Contains(*text, fold(value))
}

// addressFields are the fields whose value is an address list (RFC 5322
// §3.6.2, §3.6.3, §3.6.6).
var addressFields = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-to": true, "resent-cc": true, "resent-bcc": true,
}

// writeCandidates writes the texts a field matches on, NUL-separated (NUL
// can't occur in a search string, so no match spans two of them): the raw
// value, the decoded one and, for address fields, each address.
func writeCandidates(b *strings.Builder, f field) {
	b.WriteString(f.value)
	b.WriteByte(0)
	if dec := decodeWords(f.value); dec != f.value {
		b.WriteString(dec)
		b.WriteByte(0)
	}
	if !addressFields[strings.ToLower(f.key)] {
		return
	}
	for _, a := range parseAddressList(f.value) {
		switch {
		case a.IsGroupEnd():
			continue
		case a.IsGroupStart():
			b.WriteString(a.Mailbox)
		default:
			if a.Name != "" {
				b.WriteString(a.Name)
				b.WriteByte(' ')
			}
			b.WriteByte('<')
			if a.Mailbox != missingMailbox {
				b.WriteString(a.Mailbox)
			}
			if a.Host != missingDomain {
				b.WriteByte('@')
				b.WriteString(a.Host)
			}
			b.WriteByte('>')
		}
		b.WriteByte(0)
	}
}

// headers returns the folded text TEXT searches in the header: each field
// as "Name: " and its candidates.
func (v *view) headers() string {
	if v.headerText == nil {
		var b strings.Builder
		writeHeaderText(&b, v.message().header)
		s := fold(b.String())
		v.headerText = &s
	}
	return *v.headerText
}

func writeHeaderText(b *strings.Builder, h header) {
	for _, f := range h {
		b.WriteString(f.key)
		b.WriteString(": ")
		writeCandidates(b, f)
	}
}

// body returns the folded text BODY searches.
func (v *view) body() string {
	if v.bodyText == nil {
		t := &textCollector{limit: MaxSearchText}
		t.collect(v.message(), false)
		s := fold(t.b.String())
		v.bodyText = &s
	}
	return *v.bodyText
}

// ResolveSets returns a copy of c, Not and Or included, with the dynamic
// parts of its sets resolved for a mailbox of numMessages messages whose
// highest UID is maxUID: "*" (which go-imap passes as 0) becomes the last
// message (RFC 9051 §9, seq-number), so "n:*" also covers the last message
// when n is beyond it, and the SEARCHRES marker "$" (RFC 5182) becomes
// saved, the UIDs of the last SEARCH ... RETURN (SAVE), nil if there is none.
// In an empty mailbox every set is empty.
func ResolveSets(c *imap.SearchCriteria, numMessages uint32, maxUID imap.UID, saved imap.UIDSet) *imap.SearchCriteria {
	if c == nil {
		return nil
	}
	r := *c
	r.SeqNum = nil
	for _, set := range c.SeqNum {
		var out imap.SeqSet
		for _, rg := range set {
			if start, stop, ok := resolveRange(rg.Start, rg.Stop, numMessages); ok {
				out.AddRange(start, stop)
			}
		}
		r.SeqNum = append(r.SeqNum, nonNilSeq(out))
	}
	r.UID = nil
	for _, set := range c.UID {
		if imap.IsSearchRes(set) {
			set = saved
		}
		var out imap.UIDSet
		for _, rg := range set {
			if start, stop, ok := resolveRange(uint32(rg.Start), uint32(rg.Stop), uint32(maxUID)); ok {
				out.AddRange(imap.UID(start), imap.UID(stop))
			}
		}
		r.UID = append(r.UID, nonNilUID(out))
	}
	r.Not = make([]imap.SearchCriteria, len(c.Not))
	for i := range c.Not {
		r.Not[i] = *ResolveSets(&c.Not[i], numMessages, maxUID, saved)
	}
	r.Or = make([][2]imap.SearchCriteria, len(c.Or))
	for i := range c.Or {
		r.Or[i][0] = *ResolveSets(&c.Or[i][0], numMessages, maxUID, saved)
		r.Or[i][1] = *ResolveSets(&c.Or[i][1], numMessages, maxUID, saved)
	}
	return &r
}

// resolveRange replaces 0 ("*") by max and orders the range.
func resolveRange(start, stop, max uint32) (uint32, uint32, bool) {
	if max == 0 && (start == 0 || stop == 0) {
		return 0, 0, false
	}
	if start == 0 {
		start = max
	}
	if stop == 0 {
		stop = max
	}
	if start > stop {
		start, stop = stop, start
	}
	return start, stop, true
}

// nonNilSeq keeps an empty resolved set distinct from no set at all: an
// empty set matches nothing.
func nonNilSeq(s imap.SeqSet) imap.SeqSet {
	if s == nil {
		return imap.SeqSet{}
	}
	return s
}

func nonNilUID(s imap.UIDSet) imap.UIDSet {
	if s == nil {
		return imap.UIDSet{}
	}
	return s
}
