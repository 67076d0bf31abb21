package imapserver

// mxdesk: the server side of CONDSTORE and QRESYNC (RFC 7162), which
// upstream v2.0.0-beta.8 lacks (it had the types and the client side).
// The command handlers call into this file; what a mod-sequence is and
// what changed is the Session's business.

import (
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// SessionQResync is a Session that answers SELECT's QRESYNC parameter.
type SessionQResync interface {
	Session
	// Resync writes, for the mailbox just selected, the VANISHED
	// (EARLIER) of the UIDs expunged and the FETCH of the messages
	// changed since the client's state (RFC 7162 3.2.5).
	Resync(w *FetchWriter, qr *imap.SelectQResync) error
}

// condStoreEnabled: the client issued a CONDSTORE enabling command (RFC
// 7162 3.1), so the server reports mod-sequences unasked.
func (c *Conn) condStoreEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapCondStore) || c.enabled.Has(imap.CapQResync)
}

func (c *Conn) qresyncEnabled() bool {
	c.mutex.Lock()
	defer c.mutex.Unlock()
	return c.enabled.Has(imap.CapQResync)
}

func (c *Conn) enableCondStore() {
	c.mutex.Lock()
	c.enabled[imap.CapCondStore] = struct{}{}
	c.mutex.Unlock()
}

// enableable says whether ENABLE turns cap on: CONDSTORE and QRESYNC
// when the server has them.
func (c *Conn) enableable(cap imap.Cap) bool {
	return (cap == imap.CapCondStore || cap == imap.CapQResync) && c.server.options.caps().Has(cap)
}

func badCondStore(text string) error {
	return &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: text}
}

// readSelectParams reads SELECT's "(CONDSTORE)" or "(QRESYNC (...))".
func (c *Conn) readSelectParams(dec *imapwire.Decoder, options *imap.SelectOptions) error {
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CONDSTORE":
			options.CondStore = true
			return nil
		case "QRESYNC":
			if !dec.ExpectSP() {
				return dec.Err()
			}
			qr, err := readQResync(dec)
			options.QResync = qr
			return err
		}
		return badCondStore("Unknown SELECT parameter")
	})
}

// readQResync reads "(uidvalidity modseq [known-uids] [(seqs uids)])".
func readQResync(dec *imapwire.Decoder) (*imap.SelectQResync, error) {
	var qr imap.SelectQResync
	if !dec.ExpectSpecial('(') || !dec.ExpectNumber(&qr.UIDValidity) || !dec.ExpectSP() || !dec.ExpectModSeq(&qr.ModSeq) {
		return nil, dec.Err()
	}
	if dec.SP() {
		if !dec.Special('(') {
			var uids imap.UIDSet
			if !dec.ExpectUIDSet(&uids) {
				return nil, dec.Err()
			}
			qr.KnownUIDs = uids
			if !dec.SP() {
				return &qr, expectClose(dec)
			}
			if !dec.ExpectSpecial('(') {
				return nil, dec.Err()
			}
		}
		var m imap.SelectQResyncSeqMatch
		var seqs imap.NumSet
		if !dec.ExpectNumSet(imapwire.NumKindSeq, &seqs) || !dec.ExpectSP() || !dec.ExpectUIDSet(&m.UIDs) || !dec.ExpectSpecial(')') {
			return nil, dec.Err()
		}
		m.SeqNums, _ = seqs.(imap.SeqSet)
		qr.SeqMatch = &m
	}
	return &qr, expectClose(dec)
}

func expectClose(dec *imapwire.Decoder) error {
	if !dec.ExpectSpecial(')') {
		return dec.Err()
	}
	return nil
}

// checkSelectParams refuses QRESYNC before ENABLE QRESYNC (RFC 7162
// 3.2.5) and enables CONDSTORE for SELECT (CONDSTORE).
func (c *Conn) checkSelectParams(options *imap.SelectOptions) error {
	if options.QResync != nil && !c.qresyncEnabled() {
		return badCondStore("QRESYNC parameter without ENABLE QRESYNC")
	}
	if options.CondStore {
		c.enableCondStore()
	}
	return nil
}

func (c *Conn) writeHighestModSeq(n uint64) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("OK").SP()
	enc.Special('[').Atom("HIGHESTMODSEQ").SP().ModSeq(n).Special(']')
	enc.SP().Text("Highest")
	return enc.CRLF()
}

// resync answers SELECT's QRESYNC parameter through the session.
func (c *Conn) resync(qr *imap.SelectQResync) error {
	s, ok := c.session.(SessionQResync)
	if !ok {
		return nil
	}
	return s.Resync(&FetchWriter{conn: c}, qr)
}

// readFetchModifiers reads FETCH's "(CHANGEDSINCE n [VANISHED])".
func readFetchModifiers(dec *imapwire.Decoder, options *imap.FetchOptions) error {
	return dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		switch strings.ToUpper(name) {
		case "CHANGEDSINCE":
			if !dec.ExpectSP() || !dec.ExpectModSeq(&options.ChangedSince) {
				return dec.Err()
			}
		case "VANISHED":
			options.Vanished = true
		default:
			return badCondStore("Unknown FETCH modifier")
		}
		return nil
	})
}

// checkFetchModifiers applies RFC 7162 3.1.4.1 and 3.2.6: CHANGEDSINCE
// implies MODSEQ, VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE
// QRESYNC; asking for mod-sequences enables CONDSTORE.
func (c *Conn) checkFetchModifiers(options *imap.FetchOptions, numKind NumKind) error {
	if options.Vanished && (numKind != NumKindUID || options.ChangedSince == 0 || !c.qresyncEnabled()) {
		return badCondStore("VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC")
	}
	if options.ChangedSince != 0 {
		options.ModSeq = true
	}
	if options.ModSeq {
		c.enableCondStore()
	}
	return nil
}

// readStoreModifiers reads STORE's "(UNCHANGEDSINCE n)" and the space
// after it; the "(" is read.
func readStoreModifiers(dec *imapwire.Decoder, options *imap.StoreOptions) error {
	var name string
	if !dec.ExpectAtom(&name) {
		return dec.Err()
	}
	if !strings.EqualFold(name, "UNCHANGEDSINCE") {
		return badCondStore("Unknown STORE modifier")
	}
	if !dec.ExpectSP() || !dec.ExpectModSeq(&options.UnchangedSince) || !dec.ExpectSpecial(')') || !dec.ExpectSP() {
		return dec.Err()
	}
	return nil
}

// ModifiedError is the answer of a conditional STORE that left out the
// messages in set: changed since UNCHANGEDSINCE (RFC 7162 3.1.3,
// "OK [MODIFIED set]").
func ModifiedError(set imap.NumSet) error {
	return &imap.Error{
		Type: imap.StatusResponseTypeOK,
		Code: imap.ResponseCode("MODIFIED " + set.String()),
		Text: "Conditional STORE failed for some messages",
	}
}

// CondStoreEnabled tells the session whether to report MODSEQ in the
// FETCH responses it writes unasked (STORE's, RFC 7162 3.1.3).
func (w *FetchWriter) CondStoreEnabled() bool { return w.conn.condStoreEnabled() }

// QResyncEnabled tells the session whether the client enabled QRESYNC.
func (w *FetchWriter) QResyncEnabled() bool { return w.conn.qresyncEnabled() }

// WriteModSeq writes the message's mod-sequence.
func (w *FetchResponseWriter) WriteModSeq(n uint64) {
	w.writeItemSep()
	w.enc.Atom("MODSEQ").SP().Special('(').ModSeq(n).Special(')')
}

// WriteVanished writes "* VANISHED (EARLIER) uids" (FETCH VANISHED,
// SELECT QRESYNC), or without (EARLIER) for expunges.
func (w *FetchWriter) WriteVanished(uids imap.UIDSet, earlier bool) error {
	return w.conn.writeVanished(uids, earlier)
}

func (c *Conn) writeVanished(uids imap.UIDSet, earlier bool) error {
	if len(uids) == 0 {
		return nil
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("VANISHED").SP()
	if earlier {
		enc.Special('(').Atom("EARLIER").Special(')').SP()
	}
	enc.NumSet(uids)
	return enc.CRLF()
}

// writeExpungeOrVanished reports an expunge: "VANISHED uid" once the
// client enabled QRESYNC (RFC 7162 3.2.10), else "seq EXPUNGE".
func (w *UpdateWriter) writeExpungeOrVanished(seqNum uint32, uid imap.UID) error {
	if uid != 0 && w.conn.qresyncEnabled() {
		if !w.allowExpunge {
			return fmt.Errorf("imapserver: VANISHED updates are not allowed in this context")
		}
		return w.conn.writeVanished(imap.UIDSetNum(uid), false)
	}
	return w.WriteExpunge(seqNum)
}

// writeMessageFlagsModSeq is WriteMessageFlags with the MODSEQ of the
// change once the client enabled CONDSTORE (RFC 7162 3.1.3).
func (w *UpdateWriter) writeMessageFlagsModSeq(seqNum uint32, uid imap.UID, flags []imap.Flag, modSeq uint64) error {
	if modSeq == 0 || !w.conn.condStoreEnabled() {
		return w.WriteMessageFlags(seqNum, uid, flags)
	}
	rw := (&FetchWriter{conn: w.conn}).CreateMessage(seqNum)
	if uid != 0 {
		rw.WriteUID(uid)
	}
	rw.WriteFlags(flags)
	rw.WriteModSeq(modSeq)
	return rw.Close()
}

// readSearchModSeq reads SEARCH's "MODSEQ [entry-name entry-type] n"
// (RFC 7162 3.1.5); the key is read.
func readSearchModSeq(dec *imapwire.Decoder, criteria *imap.SearchCriteria) error {
	var ms imap.SearchCriteriaModSeq
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var name string
	if dec.Quoted(&name) {
		var typ string
		if !dec.ExpectSP() || !dec.ExpectAtom(&typ) || !dec.ExpectSP() {
			return dec.Err()
		}
		ms.MetadataName, ms.MetadataType = name, imap.SearchCriteriaMetadataType(strings.ToLower(typ))
	}
	if !dec.ExpectModSeq(&ms.ModSeq) {
		return dec.Err()
	}
	// Two MODSEQ keys both hold: the higher one decides.
	if criteria.ModSeq == nil || ms.ModSeq > criteria.ModSeq.ModSeq {
		criteria.ModSeq = &ms
	}
	return nil
}

// HasModSeq says whether a SEARCH used the MODSEQ key anywhere, so that
// its answer carries "(MODSEQ n)" (the session sets SearchData.ModSeq).
func HasModSeq(c *imap.SearchCriteria) bool {
	if c.ModSeq != nil {
		return true
	}
	for i := range c.Not {
		if HasModSeq(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if HasModSeq(&c.Or[i][0]) || HasModSeq(&c.Or[i][1]) {
			return true
		}
	}
	return false
}
