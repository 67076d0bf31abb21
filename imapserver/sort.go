package imapserver

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/imapserver/imapmsg"
	"mxdesk/store"
)

// sortData is what SORT and THREAD compare of one message (RFC 5256 3).
type sortData struct {
	ref     msgRef
	arrival time.Time
	date    time.Time // the Date header in UTC, the arrival when missing
	size    int64
	subject string // the base subject, upper-cased ASCII
	from    string // the mailbox of the first address, upper-cased ASCII
	to      string
	cc      string
	// THREAD only:
	replyOrFwd bool
	messageID  string
	references []string // References, or In-Reply-To's first id without it
}

// Sort answers SORT and UID SORT (RFC 5256): the messages matching search
// as SEARCH finds them, ordered by criteria, then by sequence number.
func (s *session) Sort(kind imapserver.NumKind, criteria []imapserver.SortCriterion, search *imap.SearchCriteria) (nums []uint32, err error) {
	defer s.guard("SORT", &err)
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	matches, err := s.matching(sel, search)
	if err != nil {
		return nil, err
	}
	msgs, err := s.sortData(sel.mailbox, matches, needsHeader(criteria))
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(msgs, func(a, b sortData) int { return compareBy(criteria, &a, &b) })
	nums = make([]uint32, len(msgs))
	for i, m := range msgs {
		nums[i] = numOf(kind, m.ref)
	}
	return nums, nil
}

func numOf(kind imapserver.NumKind, r msgRef) uint32 {
	if kind == imapserver.NumKindUID {
		return uint32(r.uid)
	}
	return r.seq
}

// needsHeader tells whether a criterion reads the message's header.
func needsHeader(criteria []imapserver.SortCriterion) bool {
	return slices.ContainsFunc(criteria, func(c imapserver.SortCriterion) bool {
		return c.Key != imapserver.SortKeyArrival && c.Key != imapserver.SortKeySize
	})
}

// compareBy orders by each criterion in turn; equal messages keep their
// sequence order (refs are ascending and the sort is stable).
func compareBy(criteria []imapserver.SortCriterion, a, b *sortData) int {
	for _, c := range criteria {
		n := compareKey(c.Key, a, b)
		if c.Reverse {
			n = -n
		}
		if n != 0 {
			return n
		}
	}
	return 0
}

func compareKey(key imapserver.SortKey, a, b *sortData) int {
	switch key {
	case imapserver.SortKeyArrival:
		return a.arrival.Compare(b.arrival)
	case imapserver.SortKeyDate:
		return a.date.Compare(b.date)
	case imapserver.SortKeySize:
		return cmp.Compare(a.size, b.size)
	case imapserver.SortKeySubject:
		return strings.Compare(a.subject, b.subject)
	case imapserver.SortKeyFrom:
		return strings.Compare(a.from, b.from)
	case imapserver.SortKeyTo:
		return strings.Compare(a.to, b.to)
	case imapserver.SortKeyCc:
		return strings.Compare(a.cc, b.cc)
	}
	return 0
}

// sortData reads what refs are compared by in one read transaction,
// parsing headers only when withHeader.
func (s *session) sortData(mbox store.MailboxID, refs []msgRef, withHeader bool) ([]sortData, error) {
	out := make([]sortData, 0, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	err := s.srv.r.View(func(rd store.Reader) error {
		msgs, err := rd.Messages(mbox, refs[0].uid, refs[len(refs)-1].uid)
		if err != nil {
			return err
		}
		j := 0
		for _, r := range refs {
			for j < len(msgs) && msgs[j].UID < r.uid {
				j++
			}
			if j == len(msgs) || msgs[j].UID != r.uid {
				continue // expunged since
			}
			m := msgs[j]
			d := sortData{ref: r, arrival: m.InternalDate, date: m.InternalDate, size: m.Size}
			if withHeader {
				raw, err := rd.Blob(m.Blob)
				if err != nil {
					return err
				}
				env := imapmsg.Envelope(raw)
				d.fromEnvelope(env)
				d.references = imapmsg.References(raw)
				if len(d.references) == 0 && len(env.InReplyTo) > 0 {
					d.references = env.InReplyTo[:1]
				}
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	return out, nil
}

func (d *sortData) fromEnvelope(env *imap.Envelope) {
	if !env.Date.IsZero() {
		d.date = env.Date.UTC()
	}
	d.subject, d.replyOrFwd = imapmsg.BaseSubject(env.Subject)
	d.from, d.to, d.cc = firstMailbox(env.From), firstMailbox(env.To), firstMailbox(env.Cc)
	d.messageID = env.MessageID
}

// firstMailbox is the local part of the first address (RFC 5256's
// addr-mailbox), upper-cased for i;ascii-casemap; "" when none.
func firstMailbox(addrs []imap.Address) string {
	for _, a := range addrs {
		if !a.IsGroupStart() && !a.IsGroupEnd() {
			return imapmsg.ASCIIUpper(a.Mailbox)
		}
	}
	return ""
}
