package badgerstore

import (
	"bytes"
	"errors"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// pSubscription keeps the subscriptions of names without a mailbox:
// sub/<owner> NUL <name>, empty value. A mailbox's own subscription is its
// Subscribed field; DELETE moves it here (RFC 3501 6.3.6) and CREATE or
// RENAME to the name moves it back.
const pSubscription = "sub/"

func subscriptionKey(owner, name string) []byte {
	return key(pSubscription, []byte(owner), []byte{0}, []byte(name))
}

func (t *tx) KeptSubscriptions(owner string) ([]string, error) {
	var out []string
	prefix := key(pSubscription, []byte(owner), []byte{0})
	err := t.scan(prefix, func(item *badger.Item) error {
		out = append(out, string(item.Key()[len(prefix):]))
		return nil
	})
	return out, err
}

func (t *tx) KeepSubscription(owner, name string, on bool) error {
	if on {
		return t.txn.Set(subscriptionKey(owner, name), nil)
	}
	return t.txn.Delete(subscriptionKey(owner, name))
}

// subscriptionRecords: a kept subscription names no existing mailbox (the
// mailbox's Subscribed field holds that one).
func (c *checker) subscriptionRecords() error {
	return c.t.scan([]byte(pSubscription), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		owner, name, ok := bytes.Cut(k[len(pSubscription):], []byte{0})
		if !ok {
			c.problem(k, "subscription key without owner")
			return nil
		}
		_, err := c.t.get(nameKey(string(owner), string(name)))
		switch {
		case err == nil:
			c.problem(k, "subscription kept for existing mailbox %q of %q", name, owner)
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		return nil
	})
}
