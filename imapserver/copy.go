package imapserver

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/store"
)

// Expunge answers EXPUNGE, UID EXPUNGE (RFC 4315) and the silent expunge
// of CLOSE. The EXPUNGE responses are not written here: the hub queues them
// on every selection of the mailbox, this one included, and the library's
// poll after the command writes them, so each is sent exactly once and with
// the sequence number this client expects.
func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) (err error) {
	defer s.guard("EXPUNGE", &err)
	// CLOSE passes a writer without connection: it must neither fail
	// nor, on a read-only mailbox, remove anything (RFC 3501 6.4.2).
	silent := w == nil || *w == (imapserver.ExpungeWriter{})
	sel, err := s.writable()
	if err != nil || (silent && sel.readOnly) {
		if silent {
			return nil
		}
		return err
	}
	var only []store.UID
	if uids != nil {
		refs, err := sel.resolve(*uids)
		if err != nil || len(refs) == 0 {
			return err
		}
		only = uidsOf(refs)
	}
	if silent {
		// CLOSE can't say NO to a desk rule: the router refuses to
		// delete a session's messages, so they stay (still \Deleted)
		// and the rest go.
		if only, err = s.deletableOnClose(sel.mailbox); err != nil || len(only) == 0 {
			return err
		}
	}
	removed, err := s.srv.r.Expunge(s.ctx, s.agent, sel.mailbox, only, s.newOrigin(nil, false))
	if err != nil {
		return s.routerErr(err, srcFolder)
	}
	if len(removed) > 0 {
		s.log.Info("expunged", "folder", sel.name, "count", len(removed))
	}
	return nil
}

// deletableOnClose lists the \Deleted messages of mbox that belong to no
// session.
func (s *session) deletableOnClose(mbox store.MailboxID) ([]store.UID, error) {
	var out []store.UID
	err := s.srv.r.View(func(rd store.Reader) error {
		msgs, err := rd.Messages(mbox, 1, 0)
		for _, m := range msgs {
			if m.Session == "" && hasFlag(m.Flags, imap.FlagDeleted) {
				out = append(out, m.UID)
			}
		}
		return err
	})
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	return out, nil
}

// Copy answers COPY and UID COPY with COPYUID (RFC 3501 6.4.7, RFC 4315).
func (s *session) Copy(numSet imap.NumSet, dest string) (data *imap.CopyData, err error) {
	defer s.guard("COPY", &err)
	sel, err := s.selected()
	if err != nil {
		return nil, err
	}
	refs, err := sel.resolve(numSet)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, s.checkDest(dest)
	}
	mb, src, dst, err := s.srv.r.Copy(s.ctx, s.agent, sel.mailbox, uidsOf(refs), dest)
	if err != nil {
		return nil, s.routerErr(err, destFolder)
	}
	s.log.Info("copied", "from", sel.name, "to", mb.Name, "count", len(dst))
	return copyData(mb, src, dst), nil
}

// Move answers MOVE and UID MOVE (RFC 6851): COPYUID first, then the
// EXPUNGE responses, which the library's poll after the command writes
// from this session's tracker. The destination may be the selected mailbox
// itself: the messages then get new UIDs.
func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) (err error) {
	defer s.guard("MOVE", &err)
	sel, err := s.writable()
	if err != nil {
		return err
	}
	refs, err := sel.resolve(numSet)
	if err != nil {
		return err
	}
	if len(refs) == 0 {
		return s.checkDest(dest)
	}
	mb, src, dst, err := s.srv.r.Move(s.ctx, s.agent, sel.mailbox, uidsOf(refs), dest, s.newOrigin(nil, false))
	if err != nil {
		return s.routerErr(err, destFolder)
	}
	s.log.Info("moved", "from", sel.name, "to", mb.Name, "count", len(dst))
	if len(dst) == 0 {
		return nil
	}
	return w.WriteCopyData(copyData(mb, src, dst))
}

// checkDest gives a COPY or MOVE of no message the answer it would have
// had about its destination (TRYCREATE when missing).
func (s *session) checkDest(dest string) error {
	f, err := s.srv.r.Folder(s.agent, dest)
	if err != nil {
		return s.routerErr(err, destFolder)
	}
	if f.Mailbox == 0 {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Folder is not selectable"}
	}
	return nil
}

func copyData(mb store.Mailbox, src, dst []store.UID) *imap.CopyData {
	if len(dst) == 0 {
		return nil
	}
	data := &imap.CopyData{UIDValidity: mb.UIDValidity}
	for i := range dst {
		data.SourceUIDs.AddNum(imap.UID(src[i]))
		data.DestUIDs.AddNum(imap.UID(dst[i]))
	}
	return data
}
