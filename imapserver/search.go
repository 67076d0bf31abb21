package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/imapserver/imapmsg"
	"mxdesk/store"
)

// Search answers SEARCH and UID SEARCH (RFC 3501 6.4.4) with the ESEARCH
// return options MIN, MAX, COUNT and ALL (RFC 4731), and SAVE (RFC 5182),
// which keeps the result for "$". Matching is imapmsg.Match's; only
// messages the client knows are candidates.
func (s *session) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, opts *imap.SearchOptions) (data *imap.SearchData, err error) {
	defer s.guard("SEARCH", &err)
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	matches, err := s.matching(sel, criteria)
	if err != nil {
		if opts.ReturnSave {
			sel.save(nil) // RFC 5182 2.1: a failed SAVE leaves "$" empty
		}
		return nil, err
	}
	if opts.ReturnSave {
		sel.save(savedMatches(matches, opts))
	}
	data = searchData(kind, matches)
	if imapserver.HasModSeq(criteria) {
		data.ModSeq = highestModSeq(matches)
	}
	return data, nil
}

// matching lists the messages of sel that match criteria (SEARCH, SORT),
// ascending.
func (s *session) matching(sel *selection, criteria *imap.SearchCriteria) ([]msgRef, error) {
	if criteriaSize(criteria) > maxSearchKeys {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Search too complex"}
	}
	refs, iflags := sel.knownWithFlags()
	if len(refs) == 0 {
		return nil, nil
	}
	last := refs[len(refs)-1]
	c := imapmsg.ResolveSets(criteria, last.seq, imap.UID(last.uid), sel.savedUIDs())
	matches, err := s.match(sel.mailbox, refs, iflags, c)
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	return matches, nil
}

// highestModSeq is the highest mod-sequence among the messages a SEARCH
// MODSEQ found (RFC 7162 3.1.5: "(MODSEQ n)" in its answer).
func highestModSeq(refs []msgRef) uint64 {
	var n uint64
	for _, r := range refs {
		n = max(n, r.modSeq)
	}
	return n
}

// knownWithFlags is known plus each message's flags as this session sees
// them (with \Recent).
func (sel *selection) knownWithFlags() ([]msgRef, [][]imap.Flag) {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	refs := sel.known()
	fl := make([][]imap.Flag, len(refs))
	for i, r := range refs {
		fl[i] = sel.imapFlags(r.uid, r.flags)
	}
	return refs, fl
}

// match runs the criteria over refs in one read transaction, reading
// bodies only when a criterion looks at content.
func (s *session) match(mbox store.MailboxID, refs []msgRef, iflags [][]imap.Flag, c *imap.SearchCriteria) ([]msgRef, error) {
	content := needsContent(c)
	var out []msgRef
	err := s.srv.r.View(func(rd store.Reader) error {
		msgs, err := rd.Messages(mbox, refs[0].uid, refs[len(refs)-1].uid)
		if err != nil {
			return err
		}
		j := 0
		for i, r := range refs {
			for j < len(msgs) && msgs[j].UID < r.uid {
				j++
			}
			if j == len(msgs) || msgs[j].UID != r.uid {
				continue // expunged since
			}
			m := msgs[j]
			var raw []byte
			if content {
				if raw, err = rd.Blob(m.Blob); err != nil {
					return err
				}
			}
			meta := imapmsg.Meta{SeqNum: r.seq, UID: imap.UID(r.uid), Flags: iflags[i], InternalDate: m.InternalDate, Size: m.Size, ModSeq: m.ModSeq}
			r.modSeq = m.ModSeq
			if imapmsg.Match(raw, meta, c) {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}

// maxSearchKeys bounds the criteria of one SEARCH: each key is evaluated
// for every message, and a 50 KiB command can hold thousands.
const maxSearchKeys = 1000

// criteriaSize counts the keys of c, nested ones included.
func criteriaSize(c *imap.SearchCriteria) int {
	n := 1 + len(c.SeqNum) + len(c.UID) + len(c.Header) + len(c.Body) + len(c.Text) + len(c.Flag) + len(c.NotFlag)
	for i := range c.Not {
		n += criteriaSize(&c.Not[i])
	}
	for i := range c.Or {
		n += criteriaSize(&c.Or[i][0]) + criteriaSize(&c.Or[i][1])
	}
	return n
}

// needsContent tells whether some criterion reads the message itself.
func needsContent(c *imap.SearchCriteria) bool {
	if len(c.Header) > 0 || len(c.Body) > 0 || len(c.Text) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		return true
	}
	for i := range c.Not {
		if needsContent(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if needsContent(&c.Or[i][0]) || needsContent(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

// searchData builds the result in sequence numbers or UIDs.
func searchData(kind imapserver.NumKind, matches []msgRef) *imap.SearchData {
	data := &imap.SearchData{Count: uint32(len(matches))}
	num := func(r msgRef) uint32 { return r.seq }
	if kind == imapserver.NumKindUID {
		num = func(r msgRef) uint32 { return uint32(r.uid) }
	}
	var seqs imap.SeqSet
	var uids imap.UIDSet
	for _, r := range matches {
		n := num(r)
		if data.Min == 0 || n < data.Min {
			data.Min = n
		}
		data.Max = max(data.Max, n)
		seqs.AddNum(r.seq)
		uids.AddNum(imap.UID(r.uid))
	}
	if kind == imapserver.NumKindUID {
		data.All = uids
	} else {
		data.All = seqs
	}
	return data
}
