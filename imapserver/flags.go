package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/router"
)

// Store answers STORE and UID STORE (RFC 3501 6.4.6). The router persists
// the flags; the other sessions on the mailbox learn of them through the
// hub, this one through the FETCH responses written here (none with
// .SILENT). In an archive (All/<queue>) the router keeps the flags as
// they are: the STORE succeeds and its FETCH responses, sent even for
// .SILENT, show the client the flags it did not get.
func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, sf *imap.StoreFlags, _ *imap.StoreOptions) (err error) {
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
	msgs, err := s.srv.r.StoreFlags(s.ctx, s.agent, sel.mailbox, uids, flagOp(sf.Op), flags, s.newOrigin(uids, sf.Silent))
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	if sf.Silent && !sel.archive {
		return nil
	}
	for _, m := range msgs {
		seq, _, ok := sel.current(m.UID)
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
		mw.WriteFlags(fl)
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
