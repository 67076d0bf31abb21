// Package storetest is the conformance suite of store.Store: the rules
// every backend keeps (UIDs dense and strictly increasing per mailbox,
// UIDVALIDITY never reused, blobs counted, the change feed in commit
// order, the session indexes, the outboxes). A backend's tests call Run
// with a function opening a fresh, empty store; rules only one backend
// has (badger's Check, restarts of a directory) stay in its own tests.
package storetest

import (
	"context"
	"errors"
	"testing"

	"mxdesk/store"
)

// Opener opens a fresh, empty store for one test and closes it when the
// test ends (failing the test if closing reports a problem).
type Opener func(t *testing.T) store.Store

// Run runs every rule of the suite as a subtest of t.
func Run(t *testing.T, open Opener) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// cases are filled by each file of the suite (mailbox.go, sessions.go,
// outbox.go) in its init.
var cases []testCase

func register(name string, fn func(t *testing.T, s store.Store)) {
	cases = append(cases, testCase{name, fn})
}

func update(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), store.UpdateOptions{}, fn); err != nil {
		t.Fatal(err)
	}
}

func view(t *testing.T, s store.Store, fn func(store.Reader) error) {
	t.Helper()
	if err := s.View(fn); err != nil {
		t.Fatal(err)
	}
}

// addMessage files body in mbox, in session (created if new: a message's
// session must exist) unless "".
func addMessage(tx store.Tx, mbox store.MailboxID, body string, session string) (store.Message, error) {
	if _, err := tx.Session(session); session != "" && errors.Is(err, store.ErrNotFound) {
		if err := tx.PutSession(store.Session{ID: session}); err != nil {
			return store.Message{}, err
		}
	}
	blob, err := tx.PutBlob([]byte(body))
	if err != nil {
		return store.Message{}, err
	}
	return tx.AddMessage(store.Message{Mailbox: mbox, Blob: blob, Size: int64(len(body)), Session: session})
}

func createMailbox(t *testing.T, s store.Store, owner, name string) store.Mailbox {
	t.Helper()
	var mb store.Mailbox
	update(t, s, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Owner: owner, Name: name})
		return err
	})
	return mb
}
