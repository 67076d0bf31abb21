package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mxdesk/store"
)

func putSession(t *testing.T, s *Store, sess store.Session) {
	t.Helper()
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error { return tx.PutSession(sess) }); err != nil {
		t.Fatal(err)
	}
}

func readSession(t *testing.T, s *Store, id string) store.Session {
	t.Helper()
	var sess store.Session
	if err := s.View(func(r store.Reader) (err error) { sess, err = r.Session(id); return err }); err != nil {
		t.Fatal(err)
	}
	return sess
}

// waitLockWait returns once a connection of s's database waits for a
// lock, or done is closed (nothing will wait).
func waitLockWait(t *testing.T, s *Store, done <-chan struct{}) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(feedWait)
	for {
		var n int
		err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case <-done:
			return
		case <-tick.C:
		case <-deadline:
			t.Fatal("no update waited for a lock")
		}
	}
}

var errTaken = errors.New("session taken")

// claim sets the session's agent if it has none, as assignment does;
// read is closed once it read the session, and it writes after proceed.
func claim(s *Store, id, agent string, read, proceed chan struct{}) error {
	var once sync.Once
	return s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		sess, err := tx.Session(id)
		if err != nil {
			return err
		}
		once.Do(func() { close(read) })
		<-proceed
		if sess.Agent != "" {
			return errTaken
		}
		sess.Agent = agent
		return tx.PutSession(sess)
	})
}

// Two nodes claiming one session at once: the second one's read waits
// for the first's commit and finds the session taken; exactly one wins.
func TestClaimAcrossNodesOneWins(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	a, b := nodes[0], nodes[1]
	putSession(t, a, store.Session{ID: "s1", Queue: "support", Status: "open"})
	aRead, bRead, proceed, none := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	close(none)
	errs := make(chan error, 2)
	go func() { errs <- claim(a, "s1", "alice", aRead, proceed) }()
	<-aRead
	go func() { errs <- claim(b, "s1", "bob", bRead, none) }()
	waitLockWait(t, a, bRead) // b waits for a's row, or (without the lock) read it
	close(proceed)
	var won, lost int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			won++
		case errors.Is(err, errTaken):
			lost++
		default:
			t.Fatal(err)
		}
	}
	if won != 1 || lost != 1 {
		t.Errorf("%d claims won, %d found the session taken; want exactly one winner", won, lost)
	}
	if got := readSession(t, b, "s1").Agent; got != "alice" {
		t.Errorf("session's agent %q, want alice (the first claim)", got)
	}
}

// Read-modify-write updates of one session from two nodes at once lose
// nothing: each node's read waits for the other's commit.
func TestReadModifyWriteAcrossNodesLosesNothing(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	putSession(t, nodes[0], store.Session{ID: "s1", Queue: "support", Status: "open"})
	const writers, each = 3, 5
	var wg sync.WaitGroup
	var want []string
	for i, s := range nodes {
		for w := range writers {
			for k := range each {
				want = append(want, fmt.Sprintf("n%d-w%d-%d@example.com", i, w, k))
			}
			wg.Go(func() {
				for k := range each {
					err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
						sess, err := tx.Session("s1")
						if err != nil {
							return err
						}
						sess.Participants = append(sess.Participants, fmt.Sprintf("n%d-w%d-%d@example.com", i, w, k))
						return tx.PutSession(sess)
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	got := readSession(t, nodes[1], "s1").Participants
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("participants after %d updates: %d of them, want all %d", len(want), len(got), len(want))
	}
}

// queued waits until s's writer has n requests waiting.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(feedWait)
	for len(s.reqs) < n {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%d requests queued, want %d", len(s.reqs), n)
		}
	}
}

// appendSubject adds mark to the session's Subject.
func appendSubject(tx store.Tx, id, mark string) error {
	sess, err := tx.Session(id)
	if err != nil {
		return err
	}
	sess.Subject += mark
	return tx.PutSession(sess)
}

// inOneBatch queues updates fns on s so that its writer runs them in one
// transaction (it holds the writer until all are queued); wait returns
// their errors, in order.
func inOneBatch(t *testing.T, s *Store, fns ...func(store.Tx) error) (wait func() []error) {
	t.Helper()
	gate, opened := make(chan struct{}), make(chan struct{})
	errs := make([]chan error, len(fns)+1)
	for i := range errs {
		errs[i] = make(chan error, 1)
	}
	go func() {
		errs[0] <- s.Update(context.Background(), store.UpdateOptions{}, func(store.Tx) error {
			close(opened)
			<-gate
			return nil
		})
	}()
	<-opened
	for i, fn := range fns {
		go func() { errs[i+1] <- s.Update(context.Background(), store.UpdateOptions{}, fn) }()
		queued(t, s, i+1)
	}
	close(gate)
	return func() []error {
		out := make([]error, len(errs))
		for i, c := range errs {
			out[i] = <-c
		}
		return out[1:]
	}
}

// Two nodes locking two sessions in crossed order deadlock; PostgreSQL
// aborts one, whose savepoint is rolled back and whose Update alone is
// re-run, also when its function hid the deadlock (wrapped without %w):
// the other updates of its batch commit once, and each session gets each
// node's change once.
func TestDeadlockRerunsOnlyItsUpdate(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	for _, id := range []string{"x", "y", "by0", "by1"} {
		putSession(t, nodes[0], store.Session{ID: id, Queue: "support", Status: "open"})
	}
	holds := []chan struct{}{make(chan struct{}), make(chan struct{})}
	var runs atomic.Int32
	var waits []func() []error
	for i, s := range nodes {
		first, second := "x", "y"
		if i == 1 {
			first, second = "y", "x"
		}
		var once sync.Once
		bystander := func(tx store.Tx) error { return appendSubject(tx, fmt.Sprint("by", i), "!") }
		crossed := func(tx store.Tx) error {
			runs.Add(1)
			if err := appendSubject(tx, first, "+"); err != nil {
				return err
			}
			once.Do(func() { close(holds[i]); <-holds[1-i] })
			if err := appendSubject(tx, second, "+"); err != nil {
				return fmt.Errorf("crossed update: %v", err) // not %w
			}
			return nil
		}
		waits = append(waits, inOneBatch(t, s, bystander, crossed))
	}
	for _, wait := range waits {
		for _, err := range wait() {
			if err != nil {
				t.Fatalf("an update failed: %v", err)
			}
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("the crossed updates ran %d times, want 3 (one re-run after the deadlock)", n)
	}
	for id, want := range map[string]string{"x": "++", "y": "++", "by0": "!", "by1": "!"} {
		got := []byte(readSession(t, nodes[0], id).Subject)
		slices.Sort(got)
		if string(got) != want {
			t.Errorf("session %s: subject %q, want the marks %q once each", id, got, want)
		}
	}
}

// An update whose statement failed but whose function went on (and
// returned nil) fails alone: the updates before and after it in its
// batch commit.
func TestSwallowedFailureFailsOnlyItsUpdate(t *testing.T) {
	s := openTest(t)
	for _, id := range []string{"before", "after"} {
		putSession(t, s, store.Session{ID: id, Queue: "support", Status: "open"})
	}
	errs := inOneBatch(t, s,
		func(tx store.Tx) error { return appendSubject(tx, "before", "!") },
		func(tx store.Tx) error {
			tx.PutSession(store.Session{ID: "nul\x00", Queue: "support"}) // PostgreSQL refuses NUL in text
			return nil
		},
		func(tx store.Tx) error { return appendSubject(tx, "after", "!") },
	)()
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("updates answered %v; want nil, the refused statement's error, nil", errs)
	}
	for _, id := range []string{"before", "after"} {
		if got := readSession(t, s, id).Subject; got != "!" {
			t.Errorf("session %s: subject %q, want its update's mark once", id, got)
		}
	}
}
