package badgerstore

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// The connector's copies to append to an upstream Sent folder:
// sc/<address>\0<outbound id>, each holding a counted reference on its
// blob (Check counts it with the others).

func sentCopyKey(account string, outbound uint64) []byte {
	return key(pSentCopy, []byte(account), []byte{0}, u64(outbound))
}

func (t *tx) SentCopies(account string, limit int) ([]store.SentCopy, error) {
	var out []store.SentCopy
	err := t.scan(key(pSentCopy, []byte(account), []byte{0}), func(item *badger.Item) error {
		var c store.SentCopy
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
			return err
		}
		out = append(out, c)
		if limit > 0 && len(out) >= limit {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (t *tx) PutSentCopy(c store.SentCopy) error {
	k := sentCopyKey(c.Account, c.Outbound)
	if _, err := t.txn.Get(k); err == nil {
		return nil
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	if err := t.blobRef(c.Blob, +1); err != nil {
		return err
	}
	return t.setJSON(k, c)
}

func (t *tx) RemoveSentCopy(account string, outbound uint64) error {
	k := sentCopyKey(account, outbound)
	var c store.SentCopy
	err := t.getJSON(k, &c)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.txn.Delete(k); err != nil {
		return err
	}
	return t.blobRef(c.Blob, -1)
}

// sentCopyRecords checks that each copy sits under its own key and
// counts its blob reference.
func (c *checker) sentCopyRecords() error {
	return eachJSON(c, pSentCopy, func(k []byte, sc store.SentCopy) {
		if !bytes.Equal(k, sentCopyKey(sc.Account, sc.Outbound)) {
			c.problem(k, "holds the sent copy of %q #%d", sc.Account, sc.Outbound)
		}
		c.refs[sc.Blob]++
	})
}
