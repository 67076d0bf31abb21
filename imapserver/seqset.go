package imapserver

import (
	"github.com/emersion/go-imap/v2"

	"mxdesk/store"
)

// msgRef is a message as the client sees it at one moment.
type msgRef struct {
	uid    store.UID
	seq    uint32 // the client's sequence number
	flags  []string
	modSeq uint64
}

// known lists the messages the client knows about, ascending: those whose
// EXISTS it has been sent. Messages already expunged whose EXPUNGE the
// client has not been sent yet are left out: their data is gone.
// h.mu must be held.
func (sel *selection) known() []msgRef {
	v := sel.view
	refs := make([]msgRef, 0, len(v.msgs))
	for i, m := range v.msgs {
		if seq := sel.st.EncodeSeqNum(uint32(i + 1)); seq != 0 {
			refs = append(refs, msgRef{uid: m.uid, seq: seq, flags: m.flags, modSeq: m.modSeq})
		}
	}
	return refs
}

// resolve returns the messages a sequence set or UID set designates, in
// ascending order. Numbers that match no message are ignored (RFC 9051
// 6.4.8: a UID set may name UIDs that don't exist). It costs the size of
// the answer, not of the mailbox.
func (sel *selection) resolve(numSet imap.NumSet) ([]msgRef, error) {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	if imap.IsSearchRes(numSet) {
		return sel.resolveSaved(), nil
	}
	last, ok := sel.lastKnown()
	if !ok {
		return nil, nil
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		return sel.resolveSeq(staticSeqSet(set, last.seq), last.seq), nil
	case imap.UIDSet:
		return sel.resolveUID(staticUIDSet(set, imap.UID(last.uid))), nil
	}
	return nil, errInternal
}

// lastKnown is the last message the client knows; h.mu must be held.
func (sel *selection) lastKnown() (msgRef, bool) {
	v := sel.view
	for i := len(v.msgs) - 1; i >= 0; i-- {
		if seq := sel.st.EncodeSeqNum(uint32(i + 1)); seq != 0 {
			return msgRef{uid: v.msgs[i].uid, seq: seq, flags: v.msgs[i].flags, modSeq: v.msgs[i].modSeq}, true
		}
	}
	return msgRef{}, false
}

func (sel *selection) resolveSeq(set imap.SeqSet, top uint32) []msgRef {
	var out []msgRef
	for _, r := range set {
		for seq := r.Start; seq <= min(r.Stop, top); seq++ {
			if i := sel.st.DecodeSeqNum(seq); i != 0 {
				m := sel.view.msgs[i-1]
				out = append(out, msgRef{uid: m.uid, seq: seq, flags: m.flags, modSeq: m.modSeq})
			}
		}
	}
	return out
}

func (sel *selection) resolveUID(set imap.UIDSet) []msgRef {
	v := sel.view
	var out []msgRef
	for _, r := range set {
		i, _ := v.find(store.UID(r.Start))
		for ; i < len(v.msgs) && v.msgs[i].uid <= store.UID(r.Stop); i++ {
			if seq := sel.st.EncodeSeqNum(uint32(i + 1)); seq != 0 {
				out = append(out, msgRef{uid: v.msgs[i].uid, seq: seq, flags: v.msgs[i].flags, modSeq: v.msgs[i].modSeq})
			}
		}
	}
	return out
}

// staticSeqSet replaces "*" by top, the largest number in use (RFC 3501
// 9, seq-number), and orders each range. "n:*" with n > top is "top:n",
// which still contains top.
func staticSeqSet(set imap.SeqSet, top uint32) imap.SeqSet {
	var out imap.SeqSet
	for _, r := range set {
		a, b := star(r.Start, top), star(r.Stop, top)
		if a == 0 || b == 0 {
			continue // "*" in an empty mailbox
		}
		out.AddRange(min(a, b), max(a, b))
	}
	return out
}

func staticUIDSet(set imap.UIDSet, maxUID imap.UID) imap.UIDSet {
	var out imap.UIDSet
	for _, r := range set {
		a, b := star(uint32(r.Start), uint32(maxUID)), star(uint32(r.Stop), uint32(maxUID))
		if a == 0 || b == 0 {
			continue
		}
		out.AddRange(imap.UID(min(a, b)), imap.UID(max(a, b)))
	}
	return out
}

func star(n, top uint32) uint32 {
	if n == 0 {
		return top
	}
	return n
}

// current returns the client's sequence number, the flags and the
// mod-sequence of uid now,
// or false when the client can no longer be told about it. h.mu must not be
// held.
func (sel *selection) current(uid store.UID) (uint32, []imap.Flag, uint64, bool) {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	i, ok := sel.view.find(uid)
	if !ok {
		return 0, nil, 0, false
	}
	seq := sel.st.EncodeSeqNum(uint32(i + 1))
	if seq == 0 {
		return 0, nil, 0, false
	}
	m := sel.view.msgs[i]
	return seq, sel.imapFlags(uid, m.flags), m.modSeq, true
}

func uidsOf(refs []msgRef) []store.UID {
	uids := make([]store.UID, len(refs))
	for i, r := range refs {
		uids[i] = r.uid
	}
	return uids
}
