package badgerstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// Key layout. Fixed-width big-endian numbers keep iteration in UID order.
//
//	c/<name>                   counter (uint64)
//	mb/<mbox>                  mailbox (JSON)
//	mn/<owner>\0<name>         mailbox name -> mbox
//	m/<mbox><uid>              message entry (JSON)
//	b/<blob>                   body (value log)
//	br/<blob>                  body reference count (uint32)
//	s/<session>                session (JSON)
//	mid/<message-id>           Message-ID -> session
//	e/<session>\0<seq>         event (JSON)
//	sm/<session>\0<mbox><uid>  where a session's messages are filed
//	tok/<token>                reply token -> session
//	due/<unix nanos><session>  sessions by the time of their next transition
//	wait/<queue>\0<nanos><id>  sessions waiting in a queue, by WaitingSince
//	act/<agent>\0<id>          sessions counting towards an agent's load
//	ss/<queue>\0<status>\0<id> sessions by queue and status (counts)
//	sst/<status>\0<nanos><id>  sessions by status and StatusSince (archive.go)
//	ar/<session>               what is kept of an archived session (JSON, archive.go)
//	ag/<login>                 agent state (JSON)
//	q/<id>                     quarantined original (JSON)
//	ob/<id>                    queued outbound message (JSON)
//	obd/<unix nanos><id>       queued outbound messages by next attempt
//	am/<address>               automatic mail sent to an address (JSON, with a TTL)
//	imp/<address>              import state of an upstream account (JSON, import.go)
//	sc/<address>\0<id>          reply to copy to the account's sent_folder (JSON, sentcopy.go)
//	vx/<mbox><modseq><uid>     an expunged UID with its mod-sequence (QRESYNC, modseq.go)
const (
	pCounter    = "c/"
	pMailbox    = "mb/"
	pMailboxNam = "mn/"
	pMessage    = "m/"
	pBlob       = "b/"
	pBlobRef    = "br/"
	pSession    = "s/"
	pMessageID  = "mid/"
	pEvent      = "e/"
	pSessionMsg = "sm/"
	pToken      = "tok/"
	pDue        = "due/"
	pWaiting    = "wait/"
	pActive     = "act/"
	pStatus     = "ss/"
	pStatusAt   = "sst/"
	pArchived   = "ar/"
	pAgent      = "ag/"
	pQuarantine = "q/"
	pOutbound   = "ob/"
	pOutboundAt = "obd/"
	pAutoMail   = "am/"
	pImport     = "imp/"
	pSentCopy   = "sc/"
)

func key(prefix string, parts ...[]byte) []byte {
	k := []byte(prefix)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func msgKey(mbox store.MailboxID, uid store.UID) []byte {
	return key(pMessage, u64(uint64(mbox)), u32(uint32(uid)))
}

func sessionMsgKey(session string, mbox store.MailboxID, uid store.UID) []byte {
	return key(pSessionMsg, []byte(session), []byte{0}, u64(uint64(mbox)), u32(uint32(uid)))
}

func nameKey(owner, name string) []byte {
	return key(pMailboxNam, []byte(owner), []byte{0}, []byte(name))
}

// tx implements store.Tx (and store.Reader for View) on a badger txn.
type tx struct {
	txn     *badger.Txn
	write   bool
	origin  any
	changes []store.Change
	// expungedKept is Options.ExpungedKept (0: the default).
	expungedKept int
}

func (t *tx) emit(c store.Change) {
	c.Origin = t.origin
	t.changes = append(t.changes, c)
}

func (t *tx) get(k []byte) ([]byte, error) {
	item, err := t.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

func (t *tx) getJSON(k []byte, v any) error {
	b, err := t.get(k)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (t *tx) setJSON(k []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.txn.Set(k, b)
}

// counter returns the next value of a named counter, starting at 1.
func (t *tx) counter(name string) (uint64, error) {
	k := key(pCounter, []byte(name))
	b, err := t.get(k)
	var n uint64
	switch {
	case err == nil:
		n = binary.BigEndian.Uint64(b)
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	n++
	return n, t.txn.Set(k, u64(n))
}

// scan calls fn for each key with prefix, in key order, with values loaded
// lazily through the item.
func (t *tx) scan(prefix []byte, fn func(item *badger.Item) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := t.txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := fn(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

// ---- Reader ----

func (t *tx) Mailbox(id store.MailboxID) (store.Mailbox, error) {
	var m store.Mailbox
	err := t.getJSON(key(pMailbox, u64(uint64(id))), &m)
	return m, err
}

func (t *tx) MailboxByName(owner, name string) (store.Mailbox, error) {
	b, err := t.get(nameKey(owner, name))
	if err != nil {
		return store.Mailbox{}, err
	}
	return t.Mailbox(store.MailboxID(binary.BigEndian.Uint64(b)))
}

func (t *tx) Mailboxes(owner string) ([]store.Mailbox, error) {
	var out []store.Mailbox
	err := t.scan(key(pMailboxNam, []byte(owner), []byte{0}), func(item *badger.Item) error {
		b, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		m, err := t.Mailbox(store.MailboxID(binary.BigEndian.Uint64(b)))
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

func (t *tx) Messages(mbox store.MailboxID, from, to store.UID) ([]store.Message, error) {
	var out []store.Message
	prefix := key(pMessage, u64(uint64(mbox)))
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := t.txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(msgKey(mbox, from)); it.ValidForPrefix(prefix); it.Next() {
		var m store.Message
		err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &m) })
		if err != nil {
			return nil, err
		}
		if to != 0 && m.UID > to {
			break
		}
		out = append(out, m)
	}
	return out, nil
}

func (t *tx) Message(mbox store.MailboxID, uid store.UID) (store.Message, error) {
	var m store.Message
	err := t.getJSON(msgKey(mbox, uid), &m)
	return m, err
}

func (t *tx) Blob(id store.BlobID) ([]byte, error) {
	return t.get(key(pBlob, u64(uint64(id))))
}

func (t *tx) Session(id string) (store.Session, error) {
	var s store.Session
	err := t.getJSON(key(pSession, []byte(id)), &s)
	return s, err
}

func (t *tx) SessionByMessageID(messageID string) (string, error) {
	b, err := t.get(key(pMessageID, []byte(messageID)))
	return string(b), err
}

func (t *tx) Events(session string) ([]store.Event, error) {
	var out []store.Event
	err := t.scan(key(pEvent, []byte(session), []byte{0}), func(item *badger.Item) error {
		var e store.Event
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func (t *tx) SessionMessages(session string) ([]store.Message, error) {
	var out []store.Message
	prefix := key(pSessionMsg, []byte(session), []byte{0})
	err := t.scan(prefix, func(item *badger.Item) error {
		k := item.Key()[len(prefix):]
		if len(k) != 12 {
			return fmt.Errorf("store: bad session index key %q", item.Key())
		}
		m, err := t.Message(store.MailboxID(binary.BigEndian.Uint64(k)), store.UID(binary.BigEndian.Uint32(k[8:])))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// ---- Tx ----

func (t *tx) CreateMailbox(m store.Mailbox) (store.Mailbox, error) {
	if _, err := t.get(nameKey(m.Owner, m.Name)); err == nil {
		return store.Mailbox{}, store.ErrExists
	}
	id, err := t.counter("mailbox")
	if err != nil {
		return store.Mailbox{}, err
	}
	m.ID = store.MailboxID(id)
	// UIDVALIDITY must differ whenever a name is reused for a new mailbox
	// (RFC 3501 2.3.1.1): a store-wide counter that starts at the time the
	// store was created never repeats.
	v, err := t.uidValidity()
	if err != nil {
		return store.Mailbox{}, err
	}
	m.UIDValidity = v
	m.UIDNext = 1
	m.RecentUID = 1
	m.HighestModSeq = 1 // RFC 7162 3.1.1: never 0, even when empty
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	if err := t.putMailbox(m); err != nil {
		return store.Mailbox{}, err
	}
	if err := t.txn.Set(nameKey(m.Owner, m.Name), u64(id)); err != nil {
		return store.Mailbox{}, err
	}
	t.emit(store.Change{Kind: store.MailboxCreated, Mailbox: m.ID})
	return m, nil
}

func (t *tx) uidValidity() (uint32, error) {
	k := key(pCounter, []byte("uidvalidity"))
	b, err := t.get(k)
	v := uint32(time.Now().Unix())
	switch {
	case err == nil:
		v = binary.BigEndian.Uint32(b) + 1
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	return v, t.txn.Set(k, u32(v))
}

func (t *tx) putMailbox(m store.Mailbox) error {
	return t.setJSON(key(pMailbox, u64(uint64(m.ID))), m)
}

func (t *tx) UpdateMailbox(m store.Mailbox) error {
	old, err := t.Mailbox(m.ID)
	if err != nil {
		return err
	}
	if old.Name != m.Name {
		if _, err := t.get(nameKey(old.Owner, m.Name)); err == nil {
			return store.ErrExists
		}
		if err := t.txn.Delete(nameKey(old.Owner, old.Name)); err != nil {
			return err
		}
		if err := t.txn.Set(nameKey(old.Owner, m.Name), u64(uint64(m.ID))); err != nil {
			return err
		}
	}
	old.Name, old.Subscribed, old.SpecialUse = m.Name, m.Subscribed, m.SpecialUse
	old.Keywords, old.RecentUID = m.Keywords, m.RecentUID
	if err := t.putMailbox(old); err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.MailboxUpdated, Mailbox: m.ID})
	return nil
}

func (t *tx) DeleteMailbox(id store.MailboxID) error {
	m, err := t.Mailbox(id)
	if err != nil {
		return err
	}
	msgs, err := t.Messages(id, 0, 0)
	if err != nil {
		return err
	}
	for _, msg := range msgs {
		if err := t.removeMessage(msg, false); err != nil {
			return err
		}
	}
	if err := t.dropExpunged(id); err != nil {
		return err
	}
	if err := t.txn.Delete(nameKey(m.Owner, m.Name)); err != nil {
		return err
	}
	if err := t.txn.Delete(key(pMailbox, u64(uint64(id)))); err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.MailboxDeleted, Mailbox: id})
	return nil
}

func (t *tx) PutBlob(data []byte) (store.BlobID, error) {
	id, err := t.counter("blob")
	if err != nil {
		return 0, err
	}
	if err := t.txn.Set(key(pBlob, u64(id)), data); err != nil {
		return 0, err
	}
	return store.BlobID(id), t.txn.Set(key(pBlobRef, u64(id)), u32(0))
}

func (t *tx) blobRef(id store.BlobID, delta int) error {
	k := key(pBlobRef, u64(uint64(id)))
	b, err := t.get(k)
	if err != nil {
		return fmt.Errorf("store: blob %d: %w", id, err)
	}
	n := int(binary.BigEndian.Uint32(b)) + delta
	if n > 0 {
		return t.txn.Set(k, u32(uint32(n)))
	}
	if err := t.txn.Delete(k); err != nil {
		return err
	}
	return t.txn.Delete(key(pBlob, u64(uint64(id))))
}

func (t *tx) AddMessage(m store.Message) (store.Message, error) {
	mb, err := t.Mailbox(m.Mailbox)
	if err != nil {
		return store.Message{}, fmt.Errorf("store: add to mailbox %d: %w", m.Mailbox, err)
	}
	if err := t.blobRef(m.Blob, +1); err != nil {
		return store.Message{}, err
	}
	m.UID = mb.UIDNext
	mb.UIDNext++
	m.ModSeq = nextModSeq(&mb)
	m.Flags = sortedFlags(m.Flags)
	if err := t.putMailbox(mb); err != nil {
		return store.Message{}, err
	}
	if err := t.setJSON(msgKey(m.Mailbox, m.UID), m); err != nil {
		return store.Message{}, err
	}
	if m.Session != "" {
		if err := t.txn.Set(sessionMsgKey(m.Session, m.Mailbox, m.UID), nil); err != nil {
			return store.Message{}, err
		}
	}
	t.emit(store.Change{Kind: store.MessageAdded, Mailbox: m.Mailbox, UID: m.UID, Flags: m.Flags, ModSeq: m.ModSeq})
	return m, nil
}

func (t *tx) SetFlags(mbox store.MailboxID, uid store.UID, flags []string) error {
	m, err := t.Message(mbox, uid)
	if err != nil {
		return err
	}
	m.Flags = sortedFlags(flags)
	if m.ModSeq, err = t.bumpModSeq(mbox); err != nil {
		return err
	}
	if err := t.setJSON(msgKey(mbox, uid), m); err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.FlagsChanged, Mailbox: mbox, UID: uid, Flags: m.Flags, ModSeq: m.ModSeq})
	return nil
}

func (t *tx) RemoveMessage(mbox store.MailboxID, uid store.UID) error {
	m, err := t.Message(mbox, uid)
	if err != nil {
		return err
	}
	return t.removeMessage(m, true)
}

func (t *tx) removeMessage(m store.Message, emit bool) error {
	if err := t.txn.Delete(msgKey(m.Mailbox, m.UID)); err != nil {
		return err
	}
	if m.Session != "" {
		if err := t.txn.Delete(sessionMsgKey(m.Session, m.Mailbox, m.UID)); err != nil {
			return err
		}
	}
	if err := t.blobRef(m.Blob, -1); err != nil {
		return err
	}
	if !emit {
		return nil // the mailbox goes too
	}
	modSeq, err := t.tombstone(m.Mailbox, m.UID)
	if err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.MessageRemoved, Mailbox: m.Mailbox, UID: m.UID, ModSeq: modSeq})
	return nil
}

func dueKey(at time.Time, session string) []byte {
	return key(pDue, u64(uint64(at.UnixNano())), []byte(session))
}

func (t *tx) PutSession(s store.Session) error {
	old, err := t.Session(s.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	case !old.Due.IsZero() && !old.Due.Equal(s.Due):
		if err := t.txn.Delete(dueKey(old.Due, s.ID)); err != nil {
			return err
		}
	}
	if !s.Due.IsZero() && (err != nil || !old.Due.Equal(s.Due)) {
		if err := t.txn.Set(dueKey(s.Due, s.ID), nil); err != nil {
			return err
		}
	}
	if err := t.reindex(waitingKey(old), waitingKey(s)); err != nil {
		return err
	}
	if err := t.reindex(activeKey(old), activeKey(s)); err != nil {
		return err
	}
	if err := t.reindex(statusKey(old), statusKey(s)); err != nil {
		return err
	}
	if err := t.reindex(statusSinceKey(old), statusSinceKey(s)); err != nil {
		return err
	}
	if s.Token != "" && (err != nil || old.Token != s.Token) {
		if old.Token != "" {
			if err := t.txn.Delete(key(pToken, []byte(old.Token))); err != nil {
				return err
			}
		}
		if err := t.txn.Set(key(pToken, []byte(s.Token)), []byte(s.ID)); err != nil {
			return err
		}
	}
	return t.setJSON(key(pSession, []byte(s.ID)), s)
}

// waitingKey is the wait/ key of s, nil when it does not wait.
func waitingKey(s store.Session) []byte {
	if s.WaitingSince.IsZero() || s.ID == "" {
		return nil
	}
	return key(pWaiting, []byte(s.Queue), []byte{0}, u64(uint64(s.WaitingSince.UnixNano())), []byte(s.ID))
}

// activeKey is the act/ key of s, nil when it counts for nobody.
func activeKey(s store.Session) []byte {
	if s.ActiveAgent == "" || s.ID == "" {
		return nil
	}
	return key(pActive, []byte(s.ActiveAgent), []byte{0}, []byte(s.ID))
}

// statusKey is the ss/ key of s, nil for the zero session.
func statusKey(s store.Session) []byte {
	if s.ID == "" {
		return nil
	}
	return key(pStatus, []byte(s.Queue), []byte{0}, []byte(s.Status), []byte{0}, []byte(s.ID))
}

// reindex replaces index key old by new (either may be nil).
func (t *tx) reindex(old, new []byte) error {
	if bytes.Equal(old, new) {
		return nil
	}
	if old != nil {
		if err := t.txn.Delete(old); err != nil {
			return err
		}
	}
	if new != nil {
		return t.txn.Set(new, nil)
	}
	return nil
}

func (t *tx) WaitingSessions(queue string, limit int) ([]store.Waiting, error) {
	var out []store.Waiting
	prefix := key(pWaiting, []byte(queue), []byte{0})
	err := t.scan(prefix, func(item *badger.Item) error {
		if limit > 0 && len(out) >= limit {
			return errStop
		}
		k := item.Key()[len(prefix):]
		if len(k) < 8 {
			return fmt.Errorf("store: bad waiting key %q", item.Key())
		}
		out = append(out, store.Waiting{Session: string(k[8:]), Since: time.Unix(0, int64(binary.BigEndian.Uint64(k)))})
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (t *tx) ActiveCount(agent string) (int, error) {
	n := 0
	err := t.scan(key(pActive, []byte(agent), []byte{0}), func(*badger.Item) error { n++; return nil })
	return n, err
}

func (t *tx) ActiveSessions(agent string) ([]string, error) {
	var out []string
	prefix := key(pActive, []byte(agent), []byte{0})
	err := t.scan(prefix, func(item *badger.Item) error {
		out = append(out, string(item.Key()[len(prefix):]))
		return nil
	})
	return out, err
}

func (t *tx) SessionCounts() (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	err := t.scan([]byte(pStatus), func(item *badger.Item) error {
		parts := bytes.SplitN(item.Key()[len(pStatus):], []byte{0}, 3)
		if len(parts) != 3 {
			return fmt.Errorf("store: bad status key %q", item.Key())
		}
		q, st := string(parts[0]), string(parts[1])
		if out[q] == nil {
			out[q] = map[string]int{}
		}
		out[q][st]++
		return nil
	})
	return out, err
}

func (t *tx) AgentState(login string) (store.AgentState, error) {
	a := store.AgentState{Login: login}
	err := t.getJSON(key(pAgent, []byte(login)), &a)
	if errors.Is(err, store.ErrNotFound) {
		return store.AgentState{Login: login}, nil
	}
	return a, err
}

func (t *tx) PutAgentState(a store.AgentState) error {
	return t.setJSON(key(pAgent, []byte(a.Login)), a)
}

func (t *tx) AutoMail(address string) (store.AutoMail, error) {
	a := store.AutoMail{Address: address}
	err := t.getJSON(key(pAutoMail, []byte(address)), &a)
	if errors.Is(err, store.ErrNotFound) {
		return store.AutoMail{Address: address}, nil
	}
	return a, err
}

func (t *tx) PutAutoMail(a store.AutoMail, ttl time.Duration) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	e := badger.NewEntry(key(pAutoMail, []byte(a.Address)), b)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	return t.txn.SetEntry(e)
}

func (t *tx) SessionByToken(token string) (string, error) {
	b, err := t.get(key(pToken, []byte(token)))
	return string(b), err
}

// errStop ends a scan early without an error.
var errStop = errors.New("stop")

func (t *tx) DueSessions(until time.Time, limit int) ([]string, error) {
	var out []string
	end := uint64(until.UnixNano())
	err := t.scan([]byte(pDue), func(item *badger.Item) error {
		k := item.Key()[len(pDue):]
		if len(k) < 8 || binary.BigEndian.Uint64(k) > end || len(out) >= limit {
			return errStop
		}
		out = append(out, string(k[8:]))
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (t *tx) EachSession(fn func(store.Session) error) error {
	return t.scan([]byte(pSession), func(item *badger.Item) error {
		var s store.Session
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &s) }); err != nil {
			return err
		}
		return fn(s)
	})
}

func (t *tx) IndexMessageID(messageID, session string) error {
	return t.txn.Set(key(pMessageID, []byte(messageID)), []byte(session))
}

func (t *tx) AddEvent(e store.Event) error {
	seq, err := t.counter("event")
	if err != nil {
		return err
	}
	return t.setJSON(key(pEvent, []byte(e.Session), []byte{0}, u64(seq)), e)
}

func sortedFlags(flags []string) []string {
	out := slices.Clone(flags)
	slices.Sort(out)
	return slices.Compact(out)
}

// ---- outbound queue ----

func outboundKey(id uint64) []byte { return key(pOutbound, u64(id)) }

func outboundAtKey(o store.Outbound) []byte {
	return key(pOutboundAt, u64(uint64(o.NextAttempt.UnixNano())), u64(o.ID))
}

func (t *tx) Outbound(id uint64) (store.Outbound, error) {
	var o store.Outbound
	err := t.getJSON(outboundKey(id), &o)
	return o, err
}

func (t *tx) DueOutbound(until time.Time, limit int) ([]store.Outbound, error) {
	var out []store.Outbound
	end := uint64(until.UnixNano())
	err := t.scan([]byte(pOutboundAt), func(item *badger.Item) error {
		k := item.Key()[len(pOutboundAt):]
		if len(k) != 16 || binary.BigEndian.Uint64(k) > end || len(out) >= limit {
			return errStop
		}
		o, err := t.Outbound(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (t *tx) OutboundCount() (int, error) {
	n := 0
	err := t.scan([]byte(pOutbound), func(*badger.Item) error { n++; return nil })
	return n, err
}

func (t *tx) Enqueue(o store.Outbound) (store.Outbound, error) {
	id, err := t.counter("outbound")
	if err != nil {
		return o, err
	}
	o.ID = id
	if err := t.blobRef(o.Blob, +1); err != nil {
		return o, err
	}
	if err := t.setJSON(outboundKey(id), o); err != nil {
		return o, err
	}
	if err := t.txn.Set(outboundAtKey(o), nil); err != nil {
		return o, err
	}
	t.emit(store.Change{Kind: store.OutboundQueued, Outbound: id})
	return o, nil
}

func (t *tx) UpdateOutbound(o store.Outbound) error {
	old, err := t.Outbound(o.ID)
	if err != nil {
		return err
	}
	if err := t.txn.Delete(outboundAtKey(old)); err != nil {
		return err
	}
	old.To, old.NextAttempt, old.Attempts, old.LastError = o.To, o.NextAttempt, o.Attempts, o.LastError
	if err := t.setJSON(outboundKey(o.ID), old); err != nil {
		return err
	}
	return t.txn.Set(outboundAtKey(old), nil)
}

func (t *tx) RemoveOutbound(id uint64) error {
	o, err := t.Outbound(id)
	if err != nil {
		return err
	}
	if err := t.txn.Delete(outboundAtKey(o)); err != nil {
		return err
	}
	if err := t.txn.Delete(outboundKey(id)); err != nil {
		return err
	}
	return t.blobRef(o.Blob, -1)
}

// ---- quarantine ----

func (t *tx) Quarantined(id uint64) (store.Quarantined, error) {
	var q store.Quarantined
	err := t.getJSON(key(pQuarantine, u64(id)), &q)
	return q, err
}

func (t *tx) QuarantineList() ([]store.Quarantined, error) {
	var out []store.Quarantined
	err := t.scan([]byte(pQuarantine), func(item *badger.Item) error {
		var q store.Quarantined
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &q) }); err != nil {
			return err
		}
		out = append(out, q)
		return nil
	})
	return out, err
}

func (t *tx) Quarantine(q store.Quarantined) (store.Quarantined, error) {
	id, err := t.counter("quarantine")
	if err != nil {
		return q, err
	}
	q.ID = id
	if err := t.blobRef(q.Blob, +1); err != nil {
		return q, err
	}
	return q, t.setJSON(key(pQuarantine, u64(id)), q)
}

func (t *tx) Unquarantine(id uint64) error {
	q, err := t.Quarantined(id)
	if err != nil {
		return err
	}
	if err := t.txn.Delete(key(pQuarantine, u64(id))); err != nil {
		return err
	}
	return t.blobRef(q.Blob, -1)
}
