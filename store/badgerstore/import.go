package badgerstore

import (
	"bytes"
	"errors"

	"mxdesk/store"
)

// The import state of the connector: one record per upstream account,
// imp/<address>. It indexes nothing, so Check only decodes it.

func importKey(account string) []byte { return key(pImport, []byte(account)) }

func (t *tx) ImportState(account string) (store.ImportState, error) {
	var s store.ImportState
	err := t.getJSON(importKey(account), &s)
	if errors.Is(err, store.ErrNotFound) {
		return store.ImportState{}, store.ErrNotFound
	}
	return s, err
}

func (t *tx) PutImportState(s store.ImportState) error {
	return t.setJSON(importKey(s.Account), s)
}

// importRecords checks that each import state decodes and sits under its
// own account's key.
func (c *checker) importRecords() error {
	return eachJSON(c, pImport, func(k []byte, s store.ImportState) {
		if !bytes.Equal(k, importKey(s.Account)) {
			c.problem(k, "holds the import state of %q", s.Account)
		}
	})
}
