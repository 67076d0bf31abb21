package pgstore

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
)

// The public API's records (package api): api_tokens, looked up by name or
// by the hash of their secret (the only thing a request carries), and
// requests, the Message-ID of the mail that queued each.

func (t *tx) APIToken(name string) (store.APIToken, error) {
	var tok store.APIToken
	err := t.getJSON(&tok, `SELECT data FROM api_tokens WHERE name = $1`, name)
	return tok, err
}

func (t *tx) APITokenByHash(hash string) (store.APIToken, error) {
	var tok store.APIToken
	err := t.getJSON(&tok, `SELECT data FROM api_tokens WHERE hash = $1 ORDER BY name LIMIT 1`, hash)
	return tok, err
}

func (t *tx) APITokens() ([]store.APIToken, error) {
	return listJSON[store.APIToken](t, `SELECT data FROM api_tokens ORDER BY name COLLATE "C"`)
}

func (t *tx) PutAPIToken(tok store.APIToken) error {
	_, err := t.exec(`INSERT INTO api_tokens (name, hash, data) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, data = excluded.data`, tok.Name, tok.Hash, mustJSON(tok))
	return err
}

func (t *tx) DeleteAPIToken(name string) error {
	tag, err := t.exec(`DELETE FROM api_tokens WHERE name = $1`, name)
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return err
}

func (t *tx) RequestMessage(uri string) (string, error) {
	var mid string
	err := t.q.QueryRow(t.ctx, `SELECT message_id FROM requests WHERE uri = $1`, uri).Scan(&mid)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return mid, err
}

func (t *tx) PutRequest(uri, messageID string) error {
	_, err := t.exec(`INSERT INTO requests (uri, message_id) VALUES ($1, $2)
		ON CONFLICT (uri) DO UPDATE SET message_id = excluded.message_id`, uri, messageID)
	return err
}
