package badgerstore

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// Export hands every record of the store to sink, from one consistent
// snapshot, in store.Sink's order (mxdesk migrate-store). Open the store
// ReadOnly for it: the copy is of a stopped installation. Index entries
// rebuilt from the records (due times, waiting, agents' loads, mailbox
// names, the CRM lines) are not sent; the reply tokens and Message-IDs
// are, since they outlive their sessions.
func (s *Store) Export(sink store.Sink) error {
	return s.db.View(func(txn *badger.Txn) error {
		e := exporter{t: &tx{txn: txn}, sink: sink}
		for _, step := range []func() error{e.counters, e.mailboxes, e.blobs, e.messages, e.expunged, e.subscriptions,
			e.sessions, e.tokens, e.messageIDs, e.events, e.outbound, e.hooks, e.quarantine, e.archived, e.agents,
			e.autoMail, e.imports, e.sentCopies, e.apiTokens, e.requests, e.campaigns, e.campaignRows, e.suppressions} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

type exporter struct {
	t    *tx
	sink store.Sink
}

// eachRecord decodes every JSON record under prefix and hands it to fn.
func eachRecord[T any](e exporter, prefix string, fn func(T) error) error {
	return e.t.scan([]byte(prefix), func(item *badger.Item) error {
		var v T
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &v) }); err != nil {
			return fmt.Errorf("store: %s: %w", readableKey(item.Key()), err)
		}
		return fn(v)
	})
}

// eachPair hands fn the rest of each key under prefix and its value.
func eachPair(e exporter, prefix string, fn func(rest, value []byte) error) error {
	return e.t.scan([]byte(prefix), func(item *badger.Item) error {
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		return fn(item.Key()[len(prefix):], v)
	})
}

func (e exporter) counters() error {
	var c store.Counters
	for name, dst := range map[string]*uint64{"mailbox": &c.Mailbox, "blob": &c.Blob, "event": &c.Event,
		"outbound": &c.Outbound, "quarantine": &c.Quarantine, "crm": &c.Hook, "campaign": &c.Campaign} {
		b, err := e.t.get(key(pCounter, []byte(name)))
		if err == nil {
			*dst = binary.BigEndian.Uint64(padded(b, 8))
		}
	}
	if b, err := e.t.get(key(pCounter, []byte("uidvalidity"))); err == nil {
		c.UIDValidity = binary.BigEndian.Uint32(padded(b, 4))
	}
	return e.sink.Counters(c)
}

func (e exporter) mailboxes() error { return eachRecord(e, pMailbox, e.sink.Mailbox) }

// blobs sends each body with its reference count.
func (e exporter) blobs() error {
	return eachPair(e, pBlob, func(rest, data []byte) error {
		id := store.BlobID(binary.BigEndian.Uint64(padded(rest, 8)))
		b, err := e.t.get(key(pBlobRef, u64(uint64(id))))
		if err != nil {
			return fmt.Errorf("store: blob %d: reference count: %w", id, err)
		}
		return e.sink.Blob(id, int(binary.BigEndian.Uint32(padded(b, 4))), data)
	})
}

// messages refuses a store an older mxdesk wrote whose messages have no
// mod-sequence yet: a read-write open gives them (modseq.go).
func (e exporter) messages() error {
	return eachRecord(e, pMessage, func(m store.Message) error {
		if m.ModSeq == 0 {
			return fmt.Errorf("store: message %d/%d has no mod-sequence: start this mxdesk's serve once (it gives them), stop it and copy again", m.Mailbox, m.UID)
		}
		return e.sink.Message(m)
	})
}

func (e exporter) expunged() error {
	return eachPair(e, pExpunged, func(rest, _ []byte) error {
		rest = padded(rest, 20)
		return e.sink.Expunged(store.MailboxID(binary.BigEndian.Uint64(rest)), binary.BigEndian.Uint64(rest[8:]),
			store.UID(binary.BigEndian.Uint32(rest[16:])))
	})
}

func (e exporter) subscriptions() error {
	return eachPair(e, pSubscription, func(rest, _ []byte) error {
		owner, name, _ := cutNUL(rest)
		return e.sink.Subscription(owner, name)
	})
}

func (e exporter) sessions() error { return eachRecord(e, pSession, e.sink.Session) }

func (e exporter) tokens() error {
	return eachPair(e, pToken, func(rest, v []byte) error { return e.sink.Token(string(rest), string(v)) })
}

func (e exporter) messageIDs() error {
	return eachPair(e, pMessageID, func(rest, v []byte) error { return e.sink.MessageID(string(rest), string(v)) })
}

// events sends each event with the sequence of its key (e/<session>\0<seq>).
func (e exporter) events() error {
	return eachPair(e, pEvent, func(rest, v []byte) error {
		_, seq, _ := cutNUL(rest)
		var ev store.Event
		if err := json.Unmarshal(v, &ev); err != nil {
			return fmt.Errorf("store: event %q: %w", rest, err)
		}
		return e.sink.Event(binary.BigEndian.Uint64(padded([]byte(seq), 8)), ev)
	})
}

func (e exporter) outbound() error   { return eachRecord(e, pOutbound, e.sink.Outbound) }
func (e exporter) hooks() error      { return eachRecord(e, pHook, e.sink.Hook) }
func (e exporter) quarantine() error { return eachRecord(e, pQuarantine, e.sink.Quarantined) }
func (e exporter) archived() error   { return eachRecord(e, pArchived, e.sink.Archived) }
func (e exporter) agents() error     { return eachRecord(e, pAgent, e.sink.AgentState) }
func (e exporter) imports() error    { return eachRecord(e, pImport, e.sink.ImportState) }
func (e exporter) sentCopies() error { return eachRecord(e, pSentCopy, e.sink.SentCopy) }
func (e exporter) apiTokens() error  { return eachRecord(e, pAPIToken, e.sink.APIToken) }
func (e exporter) campaigns() error  { return eachRecord(e, pCampaign, e.sink.Campaign) }
func (e exporter) campaignRows() error {
	return eachRecord(e, pCampaignRow, e.sink.CampaignRecipient)
}
func (e exporter) suppressions() error { return eachRecord(e, pSuppression, e.sink.Suppression) }

// autoMail sends each record with its expiry (badger's TTL).
func (e exporter) autoMail() error {
	return e.t.scan([]byte(pAutoMail), func(item *badger.Item) error {
		var a store.AutoMail
		if err := item.Value(func(b []byte) error { return json.Unmarshal(b, &a) }); err != nil {
			return fmt.Errorf("store: %s: %w", readableKey(item.Key()), err)
		}
		var expires time.Time
		if at := item.ExpiresAt(); at > 0 {
			expires = time.Unix(int64(at), 0)
		}
		return e.sink.AutoMail(a, expires)
	})
}

func (e exporter) requests() error {
	return eachPair(e, pRequest, func(rest, v []byte) error { return e.sink.Request(string(rest), string(v)) })
}

// cutNUL splits b at its first NUL.
func cutNUL(b []byte) (before, after string, found bool) {
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), string(b[i+1:]), true
		}
	}
	return string(b), "", false
}
