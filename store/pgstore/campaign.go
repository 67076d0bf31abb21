package pgstore

import (
	"errors"
	"maps"

	"mxdesk/store"
)

// Campaigns (store/campaign.go), as badgerstore keeps them: each
// campaign's Counts live in its record, updated under the campaign's row
// lock with each row put, so nodes writing rows of one campaign take
// turns; a row's session column is the session index.

func (t *tx) Campaign(id uint64) (store.Campaign, error) {
	var c store.Campaign
	err := t.getJSON(&c, `SELECT data FROM campaigns WHERE id = $1`+t.forUpdate(), id)
	return c, err
}

// lockCampaign reads campaign id with its row locked to the commit.
func (t *tx) lockCampaign(id uint64) (store.Campaign, error) {
	var c store.Campaign
	err := t.getJSON(&c, `SELECT data FROM campaigns WHERE id = $1 FOR UPDATE`, id)
	return c, err
}

func (t *tx) Campaigns() ([]store.Campaign, error) {
	return listJSON[store.Campaign](t, `SELECT data FROM campaigns ORDER BY id`)
}

func (t *tx) CampaignRecipients(id uint64, from, limit int) ([]store.CampaignRecipient, error) {
	return listJSON[store.CampaignRecipient](t, `SELECT data FROM campaign_rows WHERE campaign = $1 AND row_num >= $2
		ORDER BY row_num LIMIT $3`, id, from, limitOrAll(limit))
}

func (t *tx) CampaignRecipient(id uint64, row int) (store.CampaignRecipient, error) {
	var r store.CampaignRecipient
	err := t.getJSON(&r, `SELECT data FROM campaign_rows WHERE campaign = $1 AND row_num = $2`, id, row)
	return r, err
}

func (t *tx) CampaignRecipientBySession(session string) (store.CampaignRecipient, error) {
	var r store.CampaignRecipient
	err := t.getJSON(&r, `SELECT data FROM campaign_rows WHERE session = $1 AND session <> ''
		ORDER BY campaign DESC, row_num DESC LIMIT 1`, session)
	return r, err
}

func (t *tx) Suppressed(address string) (store.Suppression, error) {
	var s store.Suppression
	err := t.getJSON(&s, `SELECT data FROM suppressions WHERE address = $1`, address)
	return s, err
}

func (t *tx) PutCampaign(c store.Campaign) (store.Campaign, error) {
	if c.ID == 0 {
		if err := t.q.QueryRow(t.ctx, `SELECT nextval('campaigns_id_seq')`).Scan(&c.ID); err != nil {
			return c, err
		}
		c.Counts = nil
	} else {
		old, err := t.lockCampaign(c.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return c, err
		}
		c.Counts = old.Counts
	}
	return c, t.putCampaign(c)
}

func (t *tx) putCampaign(c store.Campaign) error {
	_, err := t.exec(`INSERT INTO campaigns (id, data) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, c.ID, mustJSON(c))
	return err
}

func (t *tx) PutCampaignRecipient(r store.CampaignRecipient) error {
	c, err := t.lockCampaign(r.Campaign)
	if err != nil {
		return err
	}
	old, err := t.CampaignRecipient(r.Campaign, r.Row)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	c.Counts = maps.Clone(c.Counts)
	if c.Counts == nil {
		c.Counts = map[string]int{}
	}
	if old.Campaign != 0 {
		store.CountRecipient(c.Counts, old, -1)
	}
	store.CountRecipient(c.Counts, r, +1)
	if err := t.putCampaign(c); err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO campaign_rows (campaign, row_num, session, data) VALUES ($1, $2, $3, $4)
		ON CONFLICT (campaign, row_num) DO UPDATE SET session = excluded.session, data = excluded.data`,
		r.Campaign, r.Row, r.Session, mustJSON(r))
	return err
}

// DeleteCampaignRows locks the campaign first, as PutCampaignRecipient
// does, so the two never wait on each other crosswise.
func (t *tx) DeleteCampaignRows(id uint64, limit int) (int, error) {
	c, err := t.lockCampaign(id)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil // rows need their campaign (REFERENCES)
	}
	if err != nil {
		return 0, err
	}
	rows, err := listJSON[store.CampaignRecipient](t, `DELETE FROM campaign_rows WHERE campaign = $1 AND row_num IN
		(SELECT row_num FROM campaign_rows WHERE campaign = $1 ORDER BY row_num LIMIT $2) RETURNING data`, id, limitOrAll(limit))
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	for _, r := range rows {
		store.CountRecipient(c.Counts, r, -1)
	}
	return len(rows), t.putCampaign(c)
}

func (t *tx) DeleteCampaign(id uint64) error {
	if n, err := t.DeleteCampaignRows(id, 1); err != nil || n > 0 {
		return errors.Join(err, errors.New("pgstore: campaign still has rows: DeleteCampaignRows first"))
	}
	_, err := t.exec(`DELETE FROM campaigns WHERE id = $1`, id)
	return err
}

func (t *tx) Suppress(s store.Suppression) error {
	_, err := t.exec(`INSERT INTO suppressions (address, data) VALUES ($1, $2) ON CONFLICT (address) DO NOTHING`,
		s.Address, mustJSON(s))
	return err
}
