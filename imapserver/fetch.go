package imapserver

import (
	"bytes"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/imapserver/imapmsg"
	"mxdesk/router"
	"mxdesk/store"
)

// Fetch answers FETCH and UID FETCH (RFC 3501 6.4.5, RFC 3516 BINARY).
func (s *session) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, opts *imap.FetchOptions) (err error) {
	defer s.guard("FETCH", &err)
	sel, err := s.selected()
	if err != nil {
		return err
	}
	refs, err := sel.resolve(numSet)
	if err != nil {
		return err
	}
	if opts.Vanished {
		if err := s.writeVanished(w, sel, opts.ChangedSince, numSet); err != nil {
			return err
		}
	}
	if opts.ChangedSince != 0 {
		refs = changedSince(refs, opts.ChangedSince)
	}
	seen, err := s.markSeen(sel, refs, opts)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if err := s.fetchOne(w, sel, r.uid, opts, seen[r.uid]); err != nil {
			return err
		}
	}
	return nil
}

// markSeen sets \Seen on the messages a non-PEEK body fetch reads (RFC 3501
// 6.4.5) and returns those whose flags it changed: their FETCH response
// carries the new FLAGS even when not asked for. EXAMINE never sets it.
func (s *session) markSeen(sel *selection, refs []msgRef, opts *imap.FetchOptions) (map[store.UID]bool, error) {
	if sel.readOnly || !setsSeen(opts) {
		return nil, nil
	}
	var uids []store.UID
	for _, r := range refs {
		if !hasFlag(r.flags, imap.FlagSeen) {
			uids = append(uids, r.uid)
		}
	}
	if len(uids) == 0 {
		return nil, nil
	}
	msgs, err := s.srv.r.StoreFlags(s.ctx, s.agent, sel.mailbox, uids, router.FlagsAdd, []string{string(imap.FlagSeen)}, s.newOrigin(uids, false))
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	seen := make(map[store.UID]bool, len(msgs))
	for _, m := range msgs {
		seen[m.UID] = true
	}
	return seen, nil
}

func setsSeen(opts *imap.FetchOptions) bool {
	for _, b := range opts.BodySection {
		if !b.Peek {
			return true
		}
	}
	for _, b := range opts.BinarySection {
		if !b.Peek {
			return true
		}
	}
	return false
}

func needsRaw(opts *imap.FetchOptions) bool {
	return opts.Envelope || opts.BodyStructure != nil || len(opts.BodySection) > 0 ||
		len(opts.BinarySection) > 0 || len(opts.BinarySectionSize) > 0
}

// fetched is everything one FETCH response needs from the store, computed
// before the response starts so that a failure can't leave it half written.
type fetched struct {
	msg      store.Message
	envelope *imap.Envelope
	bs       imap.BodyStructure
	sections [][]byte
	binary   [][]byte
	binSizes []uint32
}

// errGone says a message disappeared between resolving the set and reading.
var errGone = errors.New("message gone")

// needsMessage tells whether opts ask for anything beyond UID and FLAGS,
// which the selection already holds: a client's resync (FETCH 1:* (UID
// FLAGS)) reads nothing from the store.
func needsMessage(opts *imap.FetchOptions) bool {
	return opts.InternalDate || opts.RFC822Size || needsRaw(opts)
}

func (s *session) fetchOne(w *imapserver.FetchWriter, sel *selection, uid store.UID, opts *imap.FetchOptions, flagsChanged bool) error {
	f, err := &fetched{}, error(nil)
	if needsMessage(opts) {
		f, err = s.load(sel.mailbox, uid, opts)
	}
	if errors.Is(err, errGone) {
		return nil
	} else if err != nil {
		return s.routerErr(err, srcFolder)
	}
	seq, flags, modSeq, ok := sel.current(uid)
	if !ok {
		return nil
	}
	if err := sel.flushUpdates(w); err != nil {
		return err
	}
	// RFC 7162 3.1: once the client enabled CONDSTORE, a FETCH carrying
	// a flag change (\Seen set by this FETCH) has the UID and MODSEQ.
	changeReport := flagsChanged && w.CondStoreEnabled()
	mw := w.CreateMessage(seq)
	if opts.UID || changeReport {
		mw.WriteUID(imap.UID(uid))
	}
	if opts.Flags || flagsChanged {
		mw.WriteFlags(flags)
	}
	if opts.ModSeq || changeReport {
		mw.WriteModSeq(modSeq)
	}
	if opts.InternalDate {
		mw.WriteInternalDate(f.msg.InternalDate)
	}
	if opts.RFC822Size {
		mw.WriteRFC822Size(f.msg.Size)
	}
	if opts.Envelope {
		mw.WriteEnvelope(f.envelope)
	}
	if opts.BodyStructure != nil {
		mw.WriteBodyStructure(f.bs)
	}
	for i, b := range opts.BodySection {
		if err := writeLiteral(mw.WriteBodySection(b, int64(len(f.sections[i]))), f.sections[i]); err != nil {
			return err
		}
	}
	for i, b := range opts.BinarySection {
		if err := writeLiteral(mw.WriteBinarySection(b, int64(len(f.binary[i]))), f.binary[i]); err != nil {
			return err
		}
	}
	for i, b := range opts.BinarySectionSize {
		mw.WriteBinarySectionSize(b, f.binSizes[i])
	}
	return mw.Close()
}

func writeLiteral(wc interface {
	Write([]byte) (int, error)
	Close() error
}, b []byte) error {
	if _, err := wc.Write(b); err != nil {
		return err
	}
	return wc.Close()
}

// load reads one message and derives the requested items from its body.
func (s *session) load(mbox store.MailboxID, uid store.UID, opts *imap.FetchOptions) (*fetched, error) {
	f := &fetched{}
	var raw []byte
	err := s.srv.r.View(func(rd store.Reader) error {
		m, err := rd.Message(mbox, uid)
		if errors.Is(err, store.ErrNotFound) {
			return errGone
		} else if err != nil {
			return err
		}
		f.msg = m
		if !needsRaw(opts) {
			return nil
		}
		b, err := rd.Blob(m.Blob)
		if err != nil {
			return err
		}
		raw = bytes.Clone(b) // the store's slice is only valid in View
		return nil
	})
	if err != nil {
		return nil, err
	}
	if raw != nil {
		f.derive(raw, opts)
	}
	return f, nil
}

func (f *fetched) derive(raw []byte, opts *imap.FetchOptions) {
	if opts.Envelope {
		f.envelope = imapmsg.Envelope(raw)
	}
	if opts.BodyStructure != nil {
		f.bs = imapmsg.BodyStructure(raw, opts.BodyStructure.Extended)
	}
	for _, b := range opts.BodySection {
		f.sections = append(f.sections, bodySection(raw, b))
	}
	for _, b := range opts.BinarySection {
		f.binary = append(f.binary, imapserver.ExtractBinarySection(bytes.NewReader(raw), b))
	}
	for _, b := range opts.BinarySectionSize {
		f.binSizes = append(f.binSizes, imapserver.ExtractBinarySectionSize(bytes.NewReader(raw), b))
	}
}
