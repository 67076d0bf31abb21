package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"mxdesk/store"
)

// The public API's tokens and queued requests.
func init() {
	register("APITokenByHash", apiTokenByHash)
	register("RequestURI", requestURI)
}

// A token is found by name and by the hash of its secret; a new secret
// (a replacement of the same name) no longer finds it by the old hash; a
// deleted one is found neither way, and deleting it again is ErrNotFound.
func apiTokenByHash(t *testing.T, s store.Store) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	crm := store.APIToken{Name: "crm", Role: "integrator", Hash: "aa11", Created: at}
	boss := store.APIToken{Name: "boss", Role: "supervisor", Hash: "cc33", Created: at, Expires: at.Add(time.Hour)}
	update(t, s, func(tx store.Tx) error { return errors.Join(tx.PutAPIToken(crm), tx.PutAPIToken(boss)) })
	crm.Hash = "bb22"
	update(t, s, func(tx store.Tx) error { return tx.PutAPIToken(crm) })
	view(t, s, func(r store.Reader) error {
		if got, err := r.APITokenByHash("bb22"); err != nil || got != crm {
			t.Errorf("APITokenByHash(new secret) = %+v, %v; want %+v", got, err, crm)
		}
		if _, err := r.APITokenByHash("aa11"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the replaced secret still finds the token: %v", err)
		}
		if got, err := r.APIToken("boss"); err != nil || !got.Expires.Equal(boss.Expires) || got.Role != "supervisor" {
			t.Errorf("APIToken(boss) = %+v, %v", got, err)
		}
		toks, err := r.APITokens()
		if err != nil || len(toks) != 2 || toks[0].Name != "boss" || toks[1].Name != "crm" {
			t.Errorf("APITokens = %+v, %v; want boss, crm", toks, err)
		}
		return nil
	})
	update(t, s, func(tx store.Tx) error { return tx.DeleteAPIToken("crm") })
	view(t, s, func(r store.Reader) error {
		if _, err := r.APIToken("crm"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APIToken of a deleted token: %v", err)
		}
		if _, err := r.APITokenByHash("bb22"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("APITokenByHash of a deleted token: %v", err)
		}
		return nil
	})
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error { return tx.DeleteAPIToken("crm") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteAPIToken of a missing token = %v, want ErrNotFound", err)
	}
}

// A request's URI leads to the Message-ID of the mail that queued it
// (whose session the Message-ID index finds); an unknown URI is
// ErrNotFound.
func requestURI(t *testing.T, s store.Store) {
	update(t, s, func(tx store.Tx) error {
		if err := tx.PutSession(store.Session{ID: "S-1"}); err != nil {
			return err
		}
		if err := tx.IndexMessageID("q1@desk.test", "S-1"); err != nil {
			return err
		}
		return tx.PutRequest("/api/v1/sessions/S-1/replies/7f3a", "q1@desk.test")
	})
	view(t, s, func(r store.Reader) error {
		mid, err := r.RequestMessage("/api/v1/sessions/S-1/replies/7f3a")
		if err != nil || mid != "q1@desk.test" {
			t.Errorf("RequestMessage = %q, %v", mid, err)
		}
		if id, err := r.SessionByMessageID(mid); err != nil || id != "S-1" {
			t.Errorf("the request's message leads to session %q, %v", id, err)
		}
		if _, err := r.RequestMessage("/api/v1/sessions/S-1/replies/other"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RequestMessage of an unknown URI: %v", err)
		}
		return nil
	})
}
