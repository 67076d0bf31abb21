// Package storetest is the conformance suite of store.Store: the rules
// every backend keeps (UIDs dense and strictly increasing per mailbox,
// UIDVALIDITY never reused, blobs counted, the change feed in commit
// order, the session indexes, the outboxes, mod-sequences and expunged
// UIDs, API tokens and requests, campaigns and suppressions). A backend's
// tests call Run with functions opening a fresh, empty store and
// reopening one; rules only one backend has (badger's Check) stay in its
// own tests.
package storetest

import (
	"context"
	"errors"
	"testing"

	"mxdesk/store"
)

// Opener opens a fresh, empty store for one test and closes it when the
// test ends (failing the test if closing reports a problem).
type Opener func(t *testing.T, opts Options) store.Store

// Options are the store options a rule needs set; the zero value is the
// backend's defaults.
type Options struct {
	// ExpungedKept bounds the expunged UIDs each mailbox remembers
	// (0: the backend's default).
	ExpungedKept int
}

// Backend is what the suite needs of a store implementation.
type Backend struct {
	Open Opener
	// Reopen closes s and opens its data again, as a restart does.
	Reopen func(t *testing.T, s store.Store) store.Store
}

// Run runs every rule of the suite as a subtest of t.
func Run(t *testing.T, b Backend) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, b.Open(t, Options{})) })
	}
	for _, c := range backendCases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, b) })
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// cases are filled by each file of the suite (mailbox.go, sessions.go,
// outbox.go, …) in its init; backendCases are the rules that open stores
// themselves (options, restarts).
var (
	cases        []testCase
	backendCases []backendCase
)

type backendCase struct {
	name string
	fn   func(t *testing.T, b Backend)
}

func register(name string, fn func(t *testing.T, s store.Store)) {
	cases = append(cases, testCase{name, fn})
}

func registerBackend(name string, fn func(t *testing.T, b Backend)) {
	backendCases = append(backendCases, backendCase{name, fn})
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
