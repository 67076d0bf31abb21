package badgerstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// Problem is one inconsistency that Check found: the key it is about, in
// readable form, and what is wrong with it.
type Problem struct {
	Key  string
	What string
}

func (p Problem) String() string { return p.Key + ": " + p.What }

// Report is the outcome of Check: the problems found and how many records
// of each kind the store holds.
type Report struct {
	Problems    []Problem
	Mailboxes   int
	Messages    int
	Blobs       int
	Sessions    int
	Outbound    int
	Quarantined int
	Archived    int
	Hooks       int // CRM events in the outbox, dead letters included
}

// Summary counts the records checked, for a consistent store.
func (r Report) Summary() string {
	s := fmt.Sprintf("%d sessions, %d mailboxes, %d messages, %d bodies, %d queued outbound, %d quarantined",
		r.Sessions, r.Mailboxes, r.Messages, r.Blobs, r.Outbound, r.Quarantined)
	if r.Archived > 0 { // a store without archived sessions says what it always said
		s += fmt.Sprintf(", %d archived", r.Archived)
	}
	return s
}

// ErrInconsistent is returned by Close when Options.CheckOnClose found
// problems; the error lists them.
var ErrInconsistent = errors.New("store: inconsistent")

// Check rebuilds every secondary index, reference count and counter from
// the primary records of one consistent snapshot and compares them with
// what is stored. Every difference is a Problem; the error is for a store
// it could not read. Session.LastInbound is not checked: it is a weak
// reference (the message may have been expunged since).
func (s *Store) Check() (Report, error) {
	var c checker
	err := s.db.View(func(txn *badger.Txn) error {
		c = checker{t: &tx{txn: txn}, expected: map[string]map[string]string{}, refs: map[store.BlobID]int{},
			sessions: map[string]bool{}, archived: map[string]bool{}, mailboxes: map[store.MailboxID]store.UID{}}
		return c.run()
	})
	return c.report, err
}

// indexed lists the prefixes of the indexes (key -> value) rebuilt from
// the primary records. ss/ is left out of stores that never built it
// (migrate.go builds it at the next read-write open), sst/ likewise.
var indexed = []string{pMailboxNam, pSessionMsg, pToken, pDue, pWaiting, pActive, pStatus, pStatusAt, pOutboundAt, pHookLine, pHookDue,
	pAPITokenHash, pCampaignSes}

// builtBy names the migrate.go index of the prefixes older stores lack.
var builtBy = map[string]string{pStatus: "session-status", pStatusAt: "session-status-since"}

type checker struct {
	t      *tx
	report Report

	expected  map[string]map[string]string // index prefix -> key -> value
	refs      map[store.BlobID]int         // references held by messages, outbound, quarantine
	sessions  map[string]bool
	archived  map[string]bool
	mailboxes map[store.MailboxID]store.UID // mailbox -> UIDNEXT
	maxID     map[string]uint64             // counter name -> highest ID in use
}

func (c *checker) problem(k []byte, format string, args ...any) {
	c.report.Problems = append(c.report.Problems, Problem{Key: readableKey(k), What: fmt.Sprintf(format, args...)})
}

func (c *checker) expect(k, value []byte) {
	if k == nil {
		return
	}
	prefix := string(k[:bytes.IndexByte(k, '/')+1])
	if c.expected[prefix] == nil {
		c.expected[prefix] = map[string]string{}
	}
	c.expected[prefix][string(k)] = string(value)
}

func (c *checker) used(counter string, id uint64) {
	if c.maxID == nil {
		c.maxID = map[string]uint64{}
	}
	c.maxID[counter] = max(c.maxID[counter], id)
}

func (c *checker) run() error {
	steps := []func() error{c.mailboxRecords, c.sessionRecords, c.archivedRecords, c.messageRecords, c.outboundRecords,
		c.quarantineRecords, c.hookRecords, c.importRecords, c.subscriptionRecords, c.sentCopyRecords, c.modSeqRecords,
		c.apiRecords, c.campaignRecords, c.blobs, c.indexes, c.messageIDs, c.events, c.counters}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// eachJSON decodes every record under prefix into a fresh T; records that
// don't decode are problems, not errors.
func eachJSON[T any](c *checker, prefix string, fn func(k []byte, v T)) error {
	return c.t.scan([]byte(prefix), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		var v T
		err := item.Value(func(b []byte) error { return json.Unmarshal(b, &v) })
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		if errors.As(err, &syntax) || errors.As(err, &typ) {
			c.problem(k, "record does not decode: %v", err)
			return nil
		}
		if err != nil {
			return err
		}
		fn(k, v)
		return nil
	})
}

func (c *checker) mailboxRecords() error {
	return eachJSON(c, pMailbox, func(k []byte, m store.Mailbox) {
		c.report.Mailboxes++
		if !bytes.Equal(k, key(pMailbox, u64(uint64(m.ID)))) {
			c.problem(k, "holds mailbox %d", m.ID)
		}
		c.mailboxes[m.ID] = m.UIDNext
		c.used("mailbox", uint64(m.ID))
		c.expect(nameKey(m.Owner, m.Name), u64(uint64(m.ID)))
	})
}

func (c *checker) sessionRecords() error {
	return eachJSON(c, pSession, func(k []byte, s store.Session) {
		c.report.Sessions++
		if !bytes.Equal(k, key(pSession, []byte(s.ID))) {
			c.problem(k, "holds session %q", s.ID)
		}
		c.sessions[s.ID] = true
		if !s.Due.IsZero() {
			c.expect(dueKey(s.Due, s.ID), nil)
		}
		if s.Token != "" {
			c.expect(key(pToken, []byte(s.Token)), []byte(s.ID))
		}
		c.expect(waitingKey(s), nil)
		c.expect(activeKey(s), nil)
		c.expect(statusKey(s), nil)
		c.expect(statusSinceKey(s), nil)
	})
}

// archivedRecords: an archived session keeps its token; a restored one
// has both records, with the same token.
func (c *checker) archivedRecords() error {
	return eachJSON(c, pArchived, func(k []byte, a store.Archived) {
		c.report.Archived++
		if !bytes.Equal(k, key(pArchived, []byte(a.ID))) {
			c.problem(k, "holds archived session %q", a.ID)
		}
		c.archived[a.ID] = true
		if a.Token != "" {
			c.expect(key(pToken, []byte(a.Token)), []byte(a.ID))
		}
	})
}

func (c *checker) messageRecords() error {
	return eachJSON(c, pMessage, func(k []byte, m store.Message) {
		c.report.Messages++
		if !bytes.Equal(k, msgKey(m.Mailbox, m.UID)) {
			c.problem(k, "holds message %d/%d", m.Mailbox, m.UID)
		}
		uidNext, ok := c.mailboxes[m.Mailbox]
		switch {
		case !ok:
			c.problem(k, "message in missing mailbox %d", m.Mailbox)
		case m.UID >= uidNext:
			c.problem(k, "UID %d is not below the mailbox's UIDNEXT %d", m.UID, uidNext)
		}
		c.refs[m.Blob]++
		c.checkMessageModSeq(k, m)
		if m.Session != "" {
			if !c.sessions[m.Session] {
				c.problem(k, "message of missing session %q", m.Session)
			}
			c.expect(sessionMsgKey(m.Session, m.Mailbox, m.UID), nil)
		}
	})
}

func (c *checker) outboundRecords() error {
	return eachJSON(c, pOutbound, func(k []byte, o store.Outbound) {
		c.report.Outbound++
		if !bytes.Equal(k, outboundKey(o.ID)) {
			c.problem(k, "holds outbound message %d", o.ID)
		}
		c.used("outbound", o.ID)
		c.refs[o.Blob]++
		c.expect(outboundAtKey(o), nil)
	})
}

// hookRecords rebuilds the CRM outbox's lines (every live event) and its
// due index (the first live event of each line).
func (c *checker) hookRecords() error {
	heads := map[string]store.Hook{}
	err := eachJSON(c, pHook, func(k []byte, h store.Hook) {
		c.report.Hooks++
		if !bytes.Equal(k, hookKey(h.ID)) {
			c.problem(k, "holds CRM event %d", h.ID)
		}
		c.used("crm", h.ID)
		if h.Dead {
			return
		}
		c.expect(hookLineKey(h), nil)
		if head, ok := heads[h.Session]; !ok || h.ID < head.ID {
			heads[h.Session] = h
		}
	})
	for _, h := range heads {
		c.expect(hookDueKey(h), nil)
	}
	return err
}

func (c *checker) quarantineRecords() error {
	return eachJSON(c, pQuarantine, func(k []byte, q store.Quarantined) {
		c.report.Quarantined++
		if !bytes.Equal(k, key(pQuarantine, u64(q.ID))) {
			c.problem(k, "holds quarantined message %d", q.ID)
		}
		c.used("quarantine", q.ID)
		c.refs[q.Blob]++
	})
}

// blobs compares the reference counts with the references the records
// hold, and each body with its count.
func (c *checker) blobs() error {
	bodies := map[store.BlobID]bool{}
	err := c.t.scan([]byte(pBlob), func(item *badger.Item) error {
		id := store.BlobID(binary.BigEndian.Uint64(padded(item.Key()[len(pBlob):], 8)))
		bodies[id] = true
		c.used("blob", uint64(id))
		return nil
	})
	if err != nil {
		return err
	}
	c.report.Blobs = len(bodies)
	counted := map[store.BlobID]bool{}
	err = c.t.scan([]byte(pBlobRef), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		id := store.BlobID(binary.BigEndian.Uint64(padded(k[len(pBlobRef):], 8)))
		counted[id] = true
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		switch n := binary.BigEndian.Uint32(padded(v, 4)); {
		case !bodies[id]:
			c.problem(k, "reference count %d of a missing body", n)
		case int(n) != c.refs[id]:
			c.problem(k, "reference count is %d, records hold %d references", n, c.refs[id])
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range sortedKeys(bodies) {
		if !counted[id] {
			c.problem(key(pBlob, u64(uint64(id))), "body without a reference count")
		}
	}
	for _, id := range sortedKeys(c.refs) {
		if !bodies[id] {
			c.problem(key(pBlob, u64(uint64(id))), "missing body, referenced by %d records", c.refs[id])
		}
	}
	return nil
}

// indexes compares each stored index with the one rebuilt from the
// records.
func (c *checker) indexes() error {
	for _, prefix := range indexed {
		if name, ok := builtBy[prefix]; ok && !c.built(name) {
			continue
		}
		want := c.expected[prefix]
		seen := map[string]bool{}
		err := c.t.scan([]byte(prefix), func(item *badger.Item) error {
			k := item.KeyCopy(nil)
			seen[string(k)] = true
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			w, ok := want[string(k)]
			switch {
			case !ok:
				c.problem(k, "dangling index entry: no record has it")
			case w != string(v):
				c.problem(k, "index entry points at %s, the record at %s", readableValue(prefix, v), readableValue(prefix, []byte(w)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(want) {
			if !seen[k] {
				c.problem([]byte(k), "missing index entry")
			}
		}
	}
	return nil
}

// built says whether the index migrate.go builds under name exists.
func (c *checker) built(name string) bool {
	_, err := c.t.get(key(pCounter, []byte("index/"+name)))
	return err == nil
}

// messageIDs checks that each Message-ID leads to a session, live or
// archived.
func (c *checker) messageIDs() error {
	return c.t.scan([]byte(pMessageID), func(item *badger.Item) error {
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if !c.sessions[string(v)] && !c.archived[string(v)] {
			c.problem(item.KeyCopy(nil), "leads to missing session %q", v)
		}
		return nil
	})
}

// events checks that each event belongs to a session.
func (c *checker) events() error {
	return c.t.scan([]byte(pEvent), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		rest := k[len(pEvent):]
		i := bytes.IndexByte(rest, 0)
		if i < 0 || len(rest)-i-1 != 8 {
			c.problem(k, "malformed event key")
			return nil
		}
		c.used("event", binary.BigEndian.Uint64(rest[i+1:]))
		if !c.sessions[string(rest[:i])] {
			c.problem(k, "event of missing session %q", rest[:i])
		}
		return nil
	})
}

// counters checks that no counter would hand out an ID in use.
func (c *checker) counters() error {
	for _, name := range sortedKeys(c.maxID) {
		k := key(pCounter, []byte(name))
		b, err := c.t.get(k)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if n := binary.BigEndian.Uint64(padded(b, 8)); n < c.maxID[name] {
			c.problem(k, "counter is %d, below %d in use", n, c.maxID[name])
		}
	}
	return nil
}

// padded left-pads b with zeros to n bytes, so a short (damaged) number
// reads as a number and is reported rather than crashing the check.
func padded(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(make([]byte, n-len(b)), b...)
}

func sortedKeys[K interface{ ~string | ~uint64 }, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// readableKey shows a key with its numbers decoded and its NUL separators
// as "/": m/3/17, due/2026-12-03T09:00:00Z/S-ABCDE, br/42.
func readableKey(k []byte) string {
	i := bytes.IndexByte(k, '/')
	if i < 0 {
		return strconv.Quote(string(k))
	}
	prefix, rest := string(k[:i+1]), k[i+1:]
	var parts []string
	switch prefix {
	case pMailbox, pBlob, pBlobRef, pQuarantine, pOutbound, pHook, pCampaign:
		parts = numbers(rest, 8)
	case pMessage, pCampaignRow:
		parts = numbers(rest, 8, 4)
	case pExpunged:
		parts = numbers(rest, 8, 8, 4)
	case pSessionMsg:
		parts = nulThen(rest, func(b []byte) []string { return numbers(b, 8, 4) })
	case pEvent, pHookLine:
		parts = nulThen(rest, func(b []byte) []string { return numbers(b, 8) })
	case pDue:
		parts = timeThen(rest)
	case pWaiting, pStatusAt:
		parts = nulThen(rest, timeThen)
	case pOutboundAt, pHookDue:
		parts = append(timeThen(rest[:min(8, len(rest))]), numbers(rest[min(8, len(rest)):], 8)...)
	default: // strings, NUL-separated
		for _, p := range bytes.Split(rest, []byte{0}) {
			parts = append(parts, printable(p))
		}
	}
	return prefix + strings.Join(parts, "/")
}

func readableValue(prefix string, v []byte) string {
	if prefix == pMailboxNam {
		return "mailbox " + strings.Join(numbers(v, 8), "")
	}
	return strconv.Quote(string(v))
}

// numbers decodes big-endian numbers of the given widths; what does not
// fit is shown quoted.
func numbers(b []byte, widths ...int) []string {
	var out []string
	for _, w := range widths {
		if len(b) < w {
			break
		}
		if w == 8 {
			out = append(out, strconv.FormatUint(binary.BigEndian.Uint64(b), 10))
		} else {
			out = append(out, strconv.FormatUint(uint64(binary.BigEndian.Uint32(b)), 10))
		}
		b = b[w:]
	}
	if len(b) > 0 {
		out = append(out, strconv.Quote(string(b)))
	}
	return out
}

// nulThen shows the string before the first NUL, then the rest decoded by
// fn.
func nulThen(b []byte, fn func([]byte) []string) []string {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return []string{printable(b)}
	}
	return append([]string{printable(b[:i])}, fn(b[i+1:])...)
}

// timeThen shows 8 bytes of Unix nanoseconds as a UTC time, then the rest
// as a string.
func timeThen(b []byte) []string {
	if len(b) < 8 {
		return []string{strconv.Quote(string(b))}
	}
	t := time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC().Format(time.RFC3339Nano)
	if len(b) == 8 {
		return []string{t}
	}
	return []string{t, printable(b[8:])}
}

func printable(b []byte) string {
	s := string(b)
	if q := strconv.Quote(s); q[1:len(q)-1] != s {
		return q
	}
	return s
}
