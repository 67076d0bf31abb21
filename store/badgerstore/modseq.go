package badgerstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// pExpunged remembers expunged messages for QRESYNC (RFC 7162 VANISHED):
// vx/<mbox><modseq><uid>, empty value, in mod-sequence order so that the
// oldest are pruned first and "expunged since" is one seek.
const pExpunged = "vx/"

// DefaultExpungedKept is Options.ExpungedKept when unset: how many
// expunged UIDs each mailbox remembers.
const DefaultExpungedKept = 10000

// modSeqMarker says the store was migrated to mod-sequences (every message
// has one, every mailbox a HIGHESTMODSEQ).
var modSeqMarker = key(pCounter, []byte("migrated/modseq"))

func expungedKey(mbox store.MailboxID, modSeq uint64, uid store.UID) []byte {
	return key(pExpunged, u64(uint64(mbox)), u64(modSeq), u32(uint32(uid)))
}

// nextModSeq gives mb its next mod-sequence (stored by the caller's
// putMailbox).
func nextModSeq(mb *store.Mailbox) uint64 {
	mb.HighestModSeq++
	return mb.HighestModSeq
}

// bumpModSeq stores mbox's next mod-sequence and returns it.
func (t *tx) bumpModSeq(mbox store.MailboxID) (uint64, error) {
	mb, err := t.Mailbox(mbox)
	if err != nil {
		return 0, fmt.Errorf("store: mailbox %d: %w", mbox, err)
	}
	n := nextModSeq(&mb)
	return n, t.putMailbox(mb)
}

// tombstone remembers that uid left mbox, with the mod-sequence of its
// expunge, and forgets the oldest beyond the store's ExpungedKept.
func (t *tx) tombstone(mbox store.MailboxID, uid store.UID) (uint64, error) {
	mb, err := t.Mailbox(mbox)
	if err != nil {
		return 0, fmt.Errorf("store: mailbox %d: %w", mbox, err)
	}
	n := nextModSeq(&mb)
	if err := t.txn.Set(expungedKey(mbox, n, uid), nil); err != nil {
		return 0, err
	}
	mb.ExpungedKept++
	if err := t.pruneExpunged(&mb); err != nil {
		return 0, err
	}
	return n, t.putMailbox(mb)
}

// pruneExpunged drops mb's oldest tombstones beyond the limit, raising
// ExpungedFloor to the newest one dropped.
func (t *tx) pruneExpunged(mb *store.Mailbox) error {
	keep := t.expungedKept
	if keep <= 0 {
		keep = DefaultExpungedKept
	}
	excess := mb.ExpungedKept - keep
	if excess <= 0 {
		return nil
	}
	prefix := key(pExpunged, u64(uint64(mb.ID)))
	var drop [][]byte
	err := t.scan(prefix, func(item *badger.Item) error {
		if len(drop) >= excess {
			return errStop
		}
		drop = append(drop, item.KeyCopy(nil))
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	for _, k := range drop {
		if err := t.txn.Delete(k); err != nil {
			return err
		}
		mb.ExpungedFloor = max(mb.ExpungedFloor, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	mb.ExpungedKept -= len(drop)
	return nil
}

// dropExpunged forgets every tombstone of a deleted mailbox.
func (t *tx) dropExpunged(mbox store.MailboxID) error {
	var keys [][]byte
	err := t.scan(key(pExpunged, u64(uint64(mbox))), func(item *badger.Item) error {
		keys = append(keys, item.KeyCopy(nil))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Expunged(mbox store.MailboxID, since uint64) ([]store.UID, error) {
	prefix := key(pExpunged, u64(uint64(mbox)))
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := t.txn.NewIterator(opts)
	defer it.Close()
	var out []store.UID
	for it.Seek(expungedKey(mbox, since+1, 0)); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()[len(prefix):]
		if len(k) != 12 {
			return nil, fmt.Errorf("store: bad expunged key %q", it.Item().Key())
		}
		out = append(out, store.UID(binary.BigEndian.Uint32(k[8:])))
	}
	slices.Sort(out) // the keys are in mod-sequence order
	return out, nil
}

// migrateModSeq gives a store written before mod-sequences its first
// ones (RFC 7162 3.1: every message has a mod-sequence, at least 1):
// each message 1, each mailbox HIGHESTMODSEQ 1. It runs before the writer
// starts, in batches, the marker last, so a crash midway runs it again.
func (s *Store) migrateModSeq() error {
	return s.db.View(func(txn *badger.Txn) error {
		if _, err := txn.Get(modSeqMarker); err == nil || !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		wb := s.db.NewWriteBatch()
		defer wb.Cancel()
		rd := &tx{txn: txn}
		err := rd.scan([]byte(pMailbox), func(item *badger.Item) error {
			return migrateRecord(item, wb, func(m *store.Mailbox) bool {
				return m.HighestModSeq == 0 && setTo1(&m.HighestModSeq)
			})
		})
		if err != nil {
			return err
		}
		err = rd.scan([]byte(pMessage), func(item *badger.Item) error {
			return migrateRecord(item, wb, func(m *store.Message) bool {
				return m.ModSeq == 0 && setTo1(&m.ModSeq)
			})
		})
		if err != nil {
			return err
		}
		if err := wb.Set(modSeqMarker, nil); err != nil {
			return err
		}
		return wb.Flush()
	})
}

func setTo1(v *uint64) bool { *v = 1; return true }

// migrateRecord rewrites a JSON record that change modifies.
func migrateRecord[T any](item *badger.Item, wb *badger.WriteBatch, change func(*T) bool) error {
	var v T
	if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
		return fmt.Errorf("%s: %w", readableKey(item.Key()), err)
	}
	if !change(&v) {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return wb.Set(item.KeyCopy(nil), b)
}

// modSeqRecords: each tombstone is of an existing mailbox, above its
// floor, at or below its HIGHESTMODSEQ, of a UID it gave and no longer
// holds; each mailbox counts its tombstones. Stores not yet migrated
// (check-store of a store an older mxdesk wrote) are left out.
func (c *checker) modSeqRecords() error {
	if _, err := c.t.get(modSeqMarker); err != nil {
		return nil
	}
	kept := map[store.MailboxID]int{}
	err := c.t.scan([]byte(pExpunged), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		rest := k[len(pExpunged):]
		if len(rest) != 20 {
			c.problem(k, "bad expunged key")
			return nil
		}
		mbox := store.MailboxID(binary.BigEndian.Uint64(rest))
		modSeq := binary.BigEndian.Uint64(rest[8:])
		uid := store.UID(binary.BigEndian.Uint32(rest[16:]))
		mb, err := c.t.Mailbox(mbox)
		if errors.Is(err, store.ErrNotFound) {
			c.problem(k, "expunged UID of missing mailbox %d", mbox)
			return nil
		} else if err != nil {
			return err
		}
		kept[mbox]++
		switch {
		case modSeq <= mb.ExpungedFloor || modSeq > mb.HighestModSeq:
			c.problem(k, "mod-sequence %d outside the mailbox's (%d, %d]", modSeq, mb.ExpungedFloor, mb.HighestModSeq)
		case uid >= mb.UIDNext:
			c.problem(k, "UID %d is not below the mailbox's UIDNEXT %d", uid, mb.UIDNext)
		}
		if _, err := c.t.Message(mbox, uid); err == nil {
			c.problem(k, "expunged UID %d is still in the mailbox", uid)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return eachJSON(c, pMailbox, func(k []byte, m store.Mailbox) {
		if m.HighestModSeq == 0 {
			c.problem(k, "no HIGHESTMODSEQ")
		}
		if m.ExpungedKept != kept[m.ID] {
			c.problem(k, "counts %d expunged UIDs, %d are kept", m.ExpungedKept, kept[m.ID])
		}
	})
}

// checkMessageModSeq: a message's mod-sequence is that of one of its
// mailbox's changes.
func (c *checker) checkMessageModSeq(k []byte, m store.Message) {
	if _, err := c.t.get(modSeqMarker); err != nil {
		return
	}
	mb, err := c.t.Mailbox(m.Mailbox)
	if err != nil {
		return // reported by messageRecords
	}
	if m.ModSeq == 0 || m.ModSeq > mb.HighestModSeq {
		c.problem(k, "mod-sequence %d outside the mailbox's [1, %d]", m.ModSeq, mb.HighestModSeq)
	}
}
