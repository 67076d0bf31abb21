package badgerstore

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// The public API's records (package api):
//   - apit/<name> holds each token (store.APIToken);
//   - apih/<hash> -> name indexes them by the hash of their secret, the
//     only thing a request carries;
//   - req/<uri> -> Message-ID of the mail that queued the request, whose
//     session the mid/ index finds (also once it is archived).
const (
	pAPIToken     = "apit/"
	pAPITokenHash = "apih/"
	pRequest      = "req/"
)

func apiTokenKey(name string) []byte { return key(pAPIToken, []byte(name)) }

func apiTokenHashKey(hash string) []byte { return key(pAPITokenHash, []byte(hash)) }

func (t *tx) APIToken(name string) (store.APIToken, error) {
	var tok store.APIToken
	err := t.getJSON(apiTokenKey(name), &tok)
	return tok, err
}

func (t *tx) APITokenByHash(hash string) (store.APIToken, error) {
	name, err := t.get(apiTokenHashKey(hash))
	if err != nil {
		return store.APIToken{}, err
	}
	return t.APIToken(string(name))
}

func (t *tx) APITokens() ([]store.APIToken, error) {
	var out []store.APIToken
	err := t.scan([]byte(pAPIToken), func(item *badger.Item) error {
		var tok store.APIToken
		err := item.Value(func(v []byte) error { return json.Unmarshal(v, &tok) })
		out = append(out, tok)
		return err
	})
	return out, err
}

func (t *tx) PutAPIToken(tok store.APIToken) error {
	old, err := t.APIToken(tok.Name)
	switch {
	case err == nil:
		if err := t.txn.Delete(apiTokenHashKey(old.Hash)); err != nil {
			return err
		}
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if err := t.txn.Set(apiTokenHashKey(tok.Hash), []byte(tok.Name)); err != nil {
		return err
	}
	return t.setJSON(apiTokenKey(tok.Name), tok)
}

func (t *tx) DeleteAPIToken(name string) error {
	tok, err := t.APIToken(name)
	if err != nil {
		return err
	}
	if err := t.txn.Delete(apiTokenHashKey(tok.Hash)); err != nil {
		return err
	}
	return t.txn.Delete(apiTokenKey(name))
}

func (t *tx) RequestMessage(uri string) (string, error) {
	b, err := t.get(key(pRequest, []byte(uri)))
	return string(b), err
}

func (t *tx) PutRequest(uri, messageID string) error {
	return t.txn.Set(key(pRequest, []byte(uri)), []byte(messageID))
}

// apiRecords checks each token under its own name and rebuilds the hash
// index from them; a request must lead to a stored Message-ID.
func (c *checker) apiRecords() error {
	err := eachJSON(c, pAPIToken, func(k []byte, tok store.APIToken) {
		if !bytes.Equal(k, apiTokenKey(tok.Name)) {
			c.problem(k, "holds the API token %q", tok.Name)
		}
		c.expect(apiTokenHashKey(tok.Hash), []byte(tok.Name))
	})
	if err != nil {
		return err
	}
	return c.t.scan([]byte(pRequest), func(item *badger.Item) error {
		k := item.KeyCopy(nil)
		mid, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if _, err := c.t.get(key(pMessageID, mid)); errors.Is(err, store.ErrNotFound) {
			c.problem(k, "request's message %q is in no session", mid)
		} else if err != nil {
			return err
		}
		return nil
	})
}
