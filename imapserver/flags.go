package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/router"
	"mxdesk/store"
)

// Store answers STORE and UID STORE (RFC 3501 6.4.6). The router persists
// the flags; the other sessions on the mailbox learn of them through the
// hub, this one through the FETCH responses written here (none with
// .SILENT). In an archive (All/<queue>) the router keeps the flags as
// they are: the STORE succeeds and its FETCH responses, sent even for
// .SILENT, show the client the flags it did not get.
//
// With UNCHANGEDSINCE (RFC 7162 3.1.3) the messages changed since are
// left alone and named in the tagged OK [MODIFIED set]; once the client
// enabled CONDSTORE each response carries the new MODSEQ, and .SILENT
// still answers with it (UID and MODSEQ, no FLAGS).
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, sf *imap.StoreFlags, opts *imap.StoreOptions) (err error) {
	defer s.guard("STORE", &err)
	sel, err := s.writable()
	if err != nil {
		return err
	}
	flags, err := storeFlags(sf.Flags)
	if err != nil {
		return err
	}
	refs, err := sel.resolve(numSet)
	if err != nil || len(refs) == 0 {
		return err
	}
	if len(flags) == 0 && sf.Op != imap.StoreFlagsSet {
		return nil
	}
	uids := uidsOf(refs)
	origin := s.newOrigin(uids, sf.Silent)
	var (
		msgs     []store.Message
		modified []store.UID
	)
	if opts.UnchangedSince != 0 {
		msgs, modified, err = s.srv.r.StoreFlagsUnchangedSince(s.ctx, s.agent, sel.mailbox, uids, flagOp(sf.Op), flags, opts.UnchangedSince, origin)
	} else {
		msgs, err = s.srv.r.StoreFlags(s.ctx, s.agent, sel.mailbox, uids, flagOp(sf.Op), flags, origin)
	}
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	if err := s.writeStored(w, sel, msgs, sf.Silent); err != nil {
		return err
	}
	if len(modified) > 0 {
		return imapserver.ModifiedError(modifiedSet(numSet, refs, modified))
	}
	return nil
}

// writeStored writes the FETCH responses of a STORE.
func (s *session) writeStored(w *imapserver.FetchWriter, sel *selection, msgs []store.Message, silent bool) error {
	condStore := w.CondStoreEnabled()
	if silent && !sel.archive && !condStore {
		return nil
	}
	for _, m := range msgs {
		seq, _, _, ok := sel.current(m.UID)
		if !ok {
			continue
		}
		// The stored flags, not the view's: they are this STORE's result
		// even if another change is already queued behind it.
		fl := sel.withRecentFlag(m.UID, m.Flags)
		if err := sel.flushUpdates(w); err != nil {
			return err
		}
		mw := w.CreateMessage(seq)
		// RFC 3501 6.4.8: UID STORE responses carry the UID; it is
		// harmless on plain STORE and lets clients match it.
		mw.WriteUID(imap.UID(m.UID))
		if !silent || sel.archive {
			mw.WriteFlags(fl)
		}
		if condStore {
			mw.WriteModSeq(m.ModSeq)
		}
		if err := mw.Close(); err != nil {
			return err
		}
	}
	return nil
}

func flagOp(op imap.StoreFlagsOp) router.FlagOp {
	switch op {
	case imap.StoreFlagsAdd:
		return router.FlagsAdd
	case imap.StoreFlagsDel:
		return router.FlagsRemove
	}
	return router.FlagsSet
}

// modifiedSet names the messages a conditional STORE left alone, as UIDs
// for UID STORE and as the client's sequence numbers for STORE.
func modifiedSet(numSet imap.NumSet, refs []msgRef, modified []store.UID) imap.NumSet {
	if _, ok := numSet.(imap.UIDSet); ok {
		var uids imap.UIDSet
		for _, u := range modified {
			uids.AddNum(imap.UID(u))
		}
		return uids
	}
	seqOf := make(map[store.UID]uint32, len(refs))
	for _, r := range refs {
		seqOf[r.uid] = r.seq
	}
	var seqs imap.SeqSet
	for _, u := range modified {
		seqs.AddNum(seqOf[u])
	}
	return seqs
}
