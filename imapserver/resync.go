package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/store"
)

// CONDSTORE and QRESYNC (RFC 7162): every message carries the
// mod-sequence of its latest change (store.Message.ModSeq), the view keeps
// them with the flags, and the store remembers expunged UIDs with theirs
// (store.Reader.Expunged) so a client that comes back says what it knew
// and gets only what changed.

// changedSince keeps the messages changed after modSeq (FETCH
// CHANGEDSINCE, RFC 7162 3.1.4.1).
func changedSince(refs []msgRef, modSeq uint64) []msgRef {
	out := refs[:0:0]
	for _, r := range refs {
		if r.modSeq > modSeq {
			out = append(out, r)
		}
	}
	return out
}

// Resync answers SELECT's QRESYNC parameter (RFC 7162 3.2.5) for the
// mailbox just selected: VANISHED (EARLIER) of the known UIDs expunged
// since the client's mod-sequence, then FETCH (UID FLAGS MODSEQ) of the
// known messages changed since. A UIDVALIDITY that changed means the
// client must start over: nothing is sent. The sequence match data is
// not needed: expunges are remembered, or all missing UIDs are reported.
func (s *session) Resync(w *imapserver.FetchWriter, qr *imap.SelectQResync) (err error) {
	defer s.guard("SELECT", &err)
	sel, err := s.selected()
	if err != nil {
		return err
	}
	var mb store.Mailbox
	if err := s.srv.r.View(func(rd store.Reader) (err error) { mb, err = rd.Mailbox(sel.mailbox); return err }); err != nil {
		return s.routerErr(err, srcFolder)
	}
	if qr.UIDValidity != mb.UIDValidity {
		return nil
	}
	var known imap.NumSet = imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}
	if qr.KnownUIDs != nil {
		known = qr.KnownUIDs
	}
	if err := s.writeVanished(w, sel, qr.ModSeq, known); err != nil {
		return err
	}
	refs, err := sel.resolve(known)
	if err != nil {
		return err
	}
	opts := &imap.FetchOptions{UID: true, Flags: true, ModSeq: true}
	for _, r := range changedSince(refs, qr.ModSeq) {
		if err := s.fetchOne(w, sel, r.uid, opts, false); err != nil {
			return err
		}
	}
	return nil
}

// writeVanished writes VANISHED (EARLIER) of the UIDs in set expunged
// after modSeq (UID FETCH VANISHED, SELECT QRESYNC). When the store no
// longer remembers that far back (store.Mailbox.ExpungedFloor) it names
// every UID of set below UIDNEXT that is not in the mailbox (RFC 7162
// 3.2.5.2 allows reporting UIDs that never existed).
func (s *session) writeVanished(w *imapserver.FetchWriter, sel *selection, modSeq uint64, set imap.NumSet) error {
	uids, ok := set.(imap.UIDSet)
	if !ok {
		return nil
	}
	var (
		mb   store.Mailbox
		gone []store.UID
	)
	err := s.srv.r.View(func(rd store.Reader) (err error) {
		if mb, err = rd.Mailbox(sel.mailbox); err != nil {
			return err
		}
		gone, err = rd.Expunged(sel.mailbox, modSeq)
		return err
	})
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	var vanished imap.UIDSet
	if modSeq < mb.ExpungedFloor {
		vanished = sel.missing(uids)
	} else {
		bounded := staticUIDSet(uids, imap.UID(mb.UIDNext-1))
		for _, u := range gone {
			if bounded.Contains(imap.UID(u)) {
				vanished.AddNum(imap.UID(u))
			}
		}
	}
	return w.WriteVanished(vanished, true)
}

// missing lists the UIDs of set, below UIDNEXT, that the mailbox does not
// hold: what may have vanished when the expunges are forgotten.
func (sel *selection) missing(set imap.UIDSet) imap.UIDSet {
	sel.h.mu.Lock()
	defer sel.h.mu.Unlock()
	v := sel.view
	var out imap.UIDSet
	top := imap.UID(v.uidNext - 1)
	for _, r := range staticUIDSet(set, top) {
		next := r.Start
		stop := min(r.Stop, top)
		i, _ := v.find(store.UID(r.Start))
		for ; i < len(v.msgs) && imap.UID(v.msgs[i].uid) <= stop; i++ {
			if u := imap.UID(v.msgs[i].uid); u > next {
				out.AddRange(next, u-1)
			}
			next = imap.UID(v.msgs[i].uid) + 1
		}
		if next <= stop {
			out.AddRange(next, stop)
		}
	}
	return out
}
