package badgerstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// Campaigns (store/campaign.go):
//
//	cp/<id>             campaign (JSON), with its Counts per state
//	cpr/<id><row>       recipient row (JSON)
//	cps/<session>       session -> campaign id and row (index, rebuilt by Check)
//	sup/<address>       suppressed address (JSON)
const (
	pCampaign    = "cp/"
	pCampaignRow = "cpr/"
	pCampaignSes = "cps/"
	pSuppression = "sup/"
)

func campaignKey(id uint64) []byte { return key(pCampaign, u64(id)) }

func campaignRowKey(id uint64, row int) []byte {
	return key(pCampaignRow, u64(id), u32(uint32(row)))
}

func campaignSessionKey(session string) []byte { return key(pCampaignSes, []byte(session)) }

func rowRef(id uint64, row int) []byte { return append(u64(id), u32(uint32(row))...) }

func (t *tx) Campaign(id uint64) (store.Campaign, error) {
	var c store.Campaign
	err := t.getJSON(campaignKey(id), &c)
	return c, err
}

func (t *tx) Campaigns() ([]store.Campaign, error) {
	var out []store.Campaign
	err := t.scan([]byte(pCampaign), func(item *badger.Item) error {
		var c store.Campaign
		if err := itemJSON(item, &c); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func (t *tx) CampaignRecipients(id uint64, from, limit int) ([]store.CampaignRecipient, error) {
	prefix := key(pCampaignRow, u64(id))
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := t.txn.NewIterator(opts)
	defer it.Close()
	var out []store.CampaignRecipient
	for it.Seek(campaignRowKey(id, from)); it.ValidForPrefix(prefix) && (limit <= 0 || len(out) < limit); it.Next() {
		var r store.CampaignRecipient
		if err := itemJSON(it.Item(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (t *tx) CampaignRecipient(id uint64, row int) (store.CampaignRecipient, error) {
	var r store.CampaignRecipient
	err := t.getJSON(campaignRowKey(id, row), &r)
	return r, err
}

func (t *tx) CampaignRecipientBySession(session string) (store.CampaignRecipient, error) {
	ref, err := t.get(campaignSessionKey(session))
	if err != nil {
		return store.CampaignRecipient{}, err
	}
	if len(ref) != 12 {
		return store.CampaignRecipient{}, errors.New("badgerstore: malformed campaign session index entry")
	}
	return t.CampaignRecipient(binary.BigEndian.Uint64(ref), int(binary.BigEndian.Uint32(ref[8:])))
}

func (t *tx) Suppressed(address string) (store.Suppression, error) {
	var s store.Suppression
	err := t.getJSON(key(pSuppression, []byte(address)), &s)
	return s, err
}

func (t *tx) PutCampaign(c store.Campaign) (store.Campaign, error) {
	if c.ID == 0 {
		id, err := t.counter("campaign")
		if err != nil {
			return c, err
		}
		c.ID, c.Counts = id, nil
	} else {
		old, err := t.Campaign(c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, err
		}
		c.Counts = old.Counts
	}
	t.campaignChanged(c.ID)
	return c, t.setJSON(campaignKey(c.ID), c)
}

// campaignChanged publishes CampaignChanged for id once per commit: a
// batch of rows makes one change, not one per row.
func (t *tx) campaignChanged(id uint64) {
	if !slices.ContainsFunc(t.changes, func(c store.Change) bool { return c.Kind == store.CampaignChanged && c.Campaign == id }) {
		t.emit(store.Change{Kind: store.CampaignChanged, Campaign: id})
	}
}

func (t *tx) PutCampaignRecipient(r store.CampaignRecipient) error {
	old, err := t.CampaignRecipient(r.Campaign, r.Row)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c, err := t.Campaign(r.Campaign)
	if err != nil {
		return err
	}
	if old.Session != "" && old.Session != r.Session {
		if err := t.txn.Delete(campaignSessionKey(old.Session)); err != nil {
			return err
		}
	}
	if r.Session != "" {
		if err := t.txn.Set(campaignSessionKey(r.Session), rowRef(r.Campaign, r.Row)); err != nil {
			return err
		}
	}
	c.Counts = maps.Clone(c.Counts)
	if c.Counts == nil {
		c.Counts = map[string]int{}
	}
	if old.Campaign != 0 {
		store.CountRecipient(c.Counts, old, -1)
	}
	store.CountRecipient(c.Counts, r, +1)
	if err := t.setJSON(campaignKey(c.ID), c); err != nil {
		return err
	}
	t.campaignChanged(c.ID)
	return t.setJSON(campaignRowKey(r.Campaign, r.Row), r)
}

func (t *tx) DeleteCampaignRows(id uint64, limit int) (int, error) {
	rows, err := t.CampaignRecipients(id, 0, limit)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.Session != "" {
			if err := t.txn.Delete(campaignSessionKey(r.Session)); err != nil {
				return 0, err
			}
		}
		if err := t.txn.Delete(campaignRowKey(id, r.Row)); err != nil {
			return 0, err
		}
	}
	if len(rows) > 0 {
		c, err := t.Campaign(id)
		if err != nil {
			return 0, err
		}
		for _, r := range rows {
			store.CountRecipient(c.Counts, r, -1)
		}
		if err := t.setJSON(campaignKey(id), c); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

func (t *tx) DeleteCampaign(id uint64) error {
	if n, err := t.DeleteCampaignRows(id, 1); err != nil || n > 0 {
		return errors.Join(err, errors.New("badgerstore: campaign still has rows: DeleteCampaignRows first"))
	}
	return t.txn.Delete(campaignKey(id))
}

func (t *tx) Suppress(s store.Suppression) error {
	k := key(pSuppression, []byte(s.Address))
	if _, err := t.txn.Get(k); err == nil {
		return nil
	} else if !errors.Is(err, badger.ErrKeyNotFound) {
		return err
	}
	return t.setJSON(k, s)
}

// campaignRecords recounts every campaign's Counts from its rows and
// rebuilds the session index (cps/, listed in indexed).
func (c *checker) campaignRecords() error {
	stored := map[uint64]map[string]int{}
	err := eachJSON(c, pCampaign, func(k []byte, cp store.Campaign) {
		if !bytes.Equal(k, campaignKey(cp.ID)) {
			c.problem(k, "holds campaign %d", cp.ID)
		}
		c.used("campaign", cp.ID)
		stored[cp.ID] = cp.Counts
	})
	if err != nil {
		return err
	}
	counted := map[uint64]map[string]int{}
	err = eachJSON(c, pCampaignRow, func(k []byte, r store.CampaignRecipient) {
		if !bytes.Equal(k, campaignRowKey(r.Campaign, r.Row)) {
			c.problem(k, "holds row %d of campaign %d", r.Campaign, r.Row)
		}
		if _, ok := stored[r.Campaign]; !ok {
			c.problem(k, "row of missing campaign %d", r.Campaign)
		}
		if counted[r.Campaign] == nil {
			counted[r.Campaign] = map[string]int{}
		}
		store.CountRecipient(counted[r.Campaign], r, +1)
		if r.Session != "" {
			c.expect(campaignSessionKey(r.Session), rowRef(r.Campaign, r.Row))
		}
	})
	for id, counts := range stored {
		if !maps.Equal(counts, counted[id]) {
			c.problem(campaignKey(id), "counts %v, its rows count %v", counts, counted[id])
		}
	}
	return err
}

func itemJSON(item *badger.Item, v any) error {
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}
