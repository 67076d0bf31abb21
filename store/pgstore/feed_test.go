package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
	"mxdesk/testutil/logbuf"
	"mxdesk/testutil/pgtest"
)

// Every commit that changes something is numbered in the changes table,
// in commit order, and announced by NOTIFY mxdesk_changes with its
// number: what another node's feed will read.
func TestChangeFeedNumberedAndNotified(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDB(t)
	s, err := Open(ctx, dsn, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	listener, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN mxdesk_changes"); err != nil {
		t.Fatal(err)
	}
	var mb store.Mailbox
	if err := s.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		err := s.Update(ctx, store.UpdateOptions{Origin: "local"}, func(tx store.Tx) error {
			blob, err := tx.PutBlob([]byte("x"))
			if err != nil {
				return err
			}
			_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for want := 1; want <= 4; want++ {
		n, err := listener.WaitForNotification(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n.Channel != "mxdesk_changes" || n.Payload != strconv.Itoa(want) {
			t.Fatalf("notification %d: %s %q, want mxdesk_changes %q", want, n.Channel, n.Payload, strconv.Itoa(want))
		}
	}
	rows, err := listener.Query(ctx, "SELECT data FROM changes ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	batches, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		t.Fatal(err)
	}
	var uids []store.UID
	for _, b := range batches[1:] {
		var cs []store.Change
		if err := json.Unmarshal(b, &cs); err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Origin != nil {
				t.Errorf("change %+v carries its node's origin", c)
			}
			uids = append(uids, c.UID)
		}
	}
	if !slices.Equal(uids, []store.UID{1, 2, 3}) {
		t.Errorf("changes table: UIDs %v, want [1 2 3]", uids)
	}
}

// The Observer sees this node's commits in the order of their feed
// numbers (the commit order every node reads), also when nothing else
// orders them: concurrent deliveries to different mailboxes.
func TestObserverOrderIsFeedOrder(t *testing.T) {
	s := openTest(t)
	const n = 40
	mbs := make([]store.Mailbox, n)
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		for i := range mbs {
			if mbs[i], err = tx.CreateMailbox(store.Mailbox{Name: "Box" + strconv.Itoa(i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var observed []store.MailboxID
	s.SetObserver(func(cs []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range cs {
			observed = append(observed, c.Mailbox)
		}
	})
	var wg sync.WaitGroup
	for _, mb := range mbs {
		wg.Go(func() {
			err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
				blob, err := tx.PutBlob([]byte("x"))
				if err != nil {
					return err
				}
				_, err = tx.AddMessage(store.Message{Mailbox: mb.ID, Blob: blob})
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var fed []store.MailboxID
	err := s.View(func(r store.Reader) error {
		rows, err := r.(*tx).q.Query(context.Background(), "SELECT data FROM changes ORDER BY seq OFFSET 1")
		if err != nil {
			return err
		}
		batches, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		for _, b := range batches {
			var cs []store.Change
			if err := json.Unmarshal(b, &cs); err != nil {
				return err
			}
			for _, c := range cs {
				fed = append(fed, c.Mailbox)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(observed, fed) {
		t.Fatalf("observer order %v\nfeed order     %v", observed, fed)
	}
}

// noPoll keeps the feed's safety poll out of a test: what the test sees
// came by notification or by the catch-up after a reconnection.
const noPoll = time.Hour

// feedWait bounds a test's wait for changes to reach an observer.
const feedWait = 20 * time.Second

// openNodes opens n stores on one fresh database: n nodes of one desk.
func openNodes(t *testing.T, n int, opts Options) []*Store {
	t.Helper()
	first := openWith(t, opts)
	dsn := first.pool.Config().ConnString()
	nodes := []*Store{first}
	for range n - 1 {
		nodes = append(nodes, openDSN(t, dsn, opts))
	}
	return nodes
}

// feedLog records what an Observer received.
type feedLog struct {
	mu      sync.Mutex
	changes []store.Change
	wake    chan struct{}
}

func observe(s *Store) *feedLog {
	l := &feedLog{wake: make(chan struct{}, 1)}
	s.SetObserver(l.add)
	return l
}

func (l *feedLog) add(cs []store.Change) {
	l.mu.Lock()
	l.changes = append(l.changes, cs...)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// waitFor returns the changes observed once there are n.
func (l *feedLog) waitFor(t *testing.T, n int) []store.Change {
	t.Helper()
	return l.waitUntil(t, func(cs []store.Change) bool { return len(cs) >= n })
}

// waitAdded returns mb's MessageAdded changes once there are n.
func (l *feedLog) waitAdded(t *testing.T, mb store.MailboxID, n int) []store.Change {
	t.Helper()
	return added(l.waitUntil(t, func(cs []store.Change) bool { return len(added(cs, mb)) >= n }), mb)
}

// waitUntil returns the changes observed once done says they are enough.
func (l *feedLog) waitUntil(t *testing.T, done func([]store.Change) bool) []store.Change {
	t.Helper()
	deadline := time.After(feedWait)
	for {
		l.mu.Lock()
		got := slices.Clone(l.changes)
		l.mu.Unlock()
		if done(got) {
			return got
		}
		select {
		case <-l.wake:
		case <-deadline:
			t.Fatalf("observer after %v: %d changes, the last %+v", feedWait, len(got), got[max(0, len(got)-5):])
		}
	}
}

func newMailbox(t *testing.T, s *Store, name string) store.Mailbox {
	t.Helper()
	var mb store.Mailbox
	if err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) (err error) {
		mb, err = tx.CreateMailbox(store.Mailbox{Owner: "desk", Name: name})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return mb
}

func deliver(s *Store, mb store.MailboxID, origin any) error {
	return s.Update(context.Background(), store.UpdateOptions{Origin: origin}, func(tx store.Tx) error {
		blob, err := tx.PutBlob([]byte("body"))
		if err != nil {
			return err
		}
		_, err = tx.AddMessage(store.Message{Mailbox: mb, Blob: blob, Flags: []string{`\Recent`}})
		return err
	})
}

// added keeps the MessageAdded changes of mb.
func added(cs []store.Change, mb store.MailboxID) []store.Change {
	return slices.DeleteFunc(slices.Clone(cs), func(c store.Change) bool { return c.Kind != store.MessageAdded || c.Mailbox != mb })
}

// uidsOf lists the UIDs of mb's MessageAdded changes, with who each came
// from as the observer saw it (its Origin).
func uidsOf(cs []store.Change, mb store.MailboxID) (uids []store.UID, origins []any) {
	for _, c := range cs {
		if c.Kind == store.MessageAdded && c.Mailbox == mb {
			uids = append(uids, c.UID)
			origins = append(origins, c.Origin)
		}
	}
	return uids, origins
}

// Deliveries to one mailbox from two nodes at once reach each node's
// Observer once each, in commit (UID) order, its own interleaved with
// the other's: its own with their Origin, the other's with none, with
// the same contents on both.
func TestFeedAcrossNodesInCommitOrder(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	mb := newMailbox(t, nodes[0], "Queues/Support")
	logs := []*feedLog{observe(nodes[0]), observe(nodes[1])}
	const writers, each = 3, 10
	var wg sync.WaitGroup
	for i, s := range nodes {
		for range writers {
			wg.Go(func() {
				for range each {
					if err := deliver(s, mb.ID, i); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	const total = 2 * writers * each
	want := make([]store.UID, total)
	for i := range want {
		want[i] = store.UID(i + 1)
	}
	views := make([][]store.Change, 2)
	for i, l := range logs {
		views[i] = l.waitAdded(t, mb.ID, total)
		uids, origins := uidsOf(views[i], mb.ID)
		if !slices.Equal(uids, want) {
			t.Fatalf("node %d observed UIDs %v, want 1..%d in order", i, uids, total)
		}
		for j, o := range origins {
			if o != nil && o != i {
				t.Errorf("node %d: UID %d with origin %v, want its own (%d) or none", i, uids[j], o, i)
			}
		}
	}
	for j := range total {
		a, b := views[0][j], views[1][j]
		if (a.Origin == nil) == (b.Origin == nil) {
			t.Errorf("UID %d: origins %v and %v, want one node's own and the other's none", a.UID, a.Origin, b.Origin)
		}
		a.Origin, b.Origin = nil, nil
		if !reflect.DeepEqual(a, b) {
			t.Errorf("UID %d: node 0 saw %+v, node 1 %+v", a.UID, a, b)
		}
	}
}

// heldListener is a listenerLost hook that reports each loss and holds
// the reconnection until released.
type heldListener struct {
	lost    chan struct{}
	resume  chan struct{}
	release func()
}

func holdListener() *heldListener {
	h := &heldListener{lost: make(chan struct{}, 1), resume: make(chan struct{})}
	h.release = sync.OnceFunc(func() { close(h.resume) })
	return h
}

func (h *heldListener) hook() {
	select {
	case h.lost <- struct{}{}:
	default:
	}
	<-h.resume
}

// A listener that lost its connection reconnects and catches up from the
// changes table: nothing committed meanwhile is lost.
func TestFeedCatchesUpAfterListenerDropped(t *testing.T) {
	held := holdListener()
	a := openWith(t, Options{FeedPoll: noPoll})
	b := openDSN(t, a.pool.Config().ConnString(), Options{FeedPoll: noPoll, listenerLost: held.hook})
	t.Cleanup(held.release) // before b's Close (cleanups run last first)
	logB := observe(b)
	mb := newMailbox(t, a, "Queues/Support")
	logB.waitFor(t, 1) // b listens

	if _, err := a.pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", b.listenerPID.Load()); err != nil {
		t.Fatal(err)
	}
	<-held.lost
	for range 5 {
		if err := deliver(a, mb.ID, "a"); err != nil {
			t.Fatal(err)
		}
	}
	held.release()
	uids, _ := uidsOf(logB.waitAdded(t, mb.ID, 5), mb.ID)
	if !slices.Equal(uids, []store.UID{1, 2, 3, 4, 5}) {
		t.Errorf("after the reconnection node b observed UIDs %v, want [1 2 3 4 5]", uids)
	}
}

// A burst of commits while a node's observer is busy (many notifications,
// more batches than one catch-up query reads) is seen complete and in
// order once it is free again.
func TestFeedBurstSeenComplete(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	a, b := nodes[0], nodes[1]
	mb := newMailbox(t, a, "Queues/Support")
	busy, free := make(chan struct{}), make(chan struct{})
	logB := &feedLog{wake: make(chan struct{}, 1)}
	var once sync.Once
	b.SetObserver(func(cs []store.Change) {
		once.Do(func() { close(busy); <-free })
		logB.add(cs)
	})
	const burst = 2*catchUpPage + 50
	for range burst {
		if err := deliver(a, mb.ID, "a"); err != nil {
			t.Fatal(err)
		}
	}
	<-busy
	close(free)
	uids, _ := uidsOf(logB.waitAdded(t, mb.ID, burst), mb.ID)
	if len(uids) != burst || !slices.IsSorted(uids) || uids[0] != 1 || uids[burst-1] != burst {
		t.Fatalf("node b observed %d UIDs (%v … ), want 1..%d in order", len(uids), uids[:min(len(uids), 5)], burst)
	}
}

// A batch number given to a transaction that rolled back is a gap the
// feed skips: the next batch still reaches the other node.
func TestFeedSkipsRolledBackSeq(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: noPoll})
	a, b := nodes[0], nodes[1]
	logB := observe(b)
	mb := newMailbox(t, a, "Queues/Support")
	logB.waitFor(t, 1)
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, a.pool, func(q pgx.Tx) error {
		if _, err := recordChanges(ctx, q, "gone", []store.Change{{Kind: store.MailboxUpdated, Mailbox: mb.ID}}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the rolled-back batch committed")
	}
	if err := deliver(a, mb.ID, "a"); err != nil {
		t.Fatal(err)
	}
	got := logB.waitFor(t, 2)
	if got[1].Kind != store.MessageAdded || got[1].UID != 1 {
		t.Errorf("node b observed %+v after the gap, want UID 1 added", got[1])
	}
}

// changesRows counts the changes table's rows and reads the highest seq
// pruned.
func changesRows(t *testing.T, s *Store) (rows, pruned int64) {
	t.Helper()
	err := s.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM changes), (SELECT upto FROM changes_pruned)`).Scan(&rows, &pruned)
	if err != nil {
		t.Fatal(err)
	}
	return rows, pruned
}

// Pruning keeps the newest ChangesKeptRows batches (and none older than
// ChangesKeptFor); a node that was away longer publishes what is left
// and logs that it missed the rest.
func TestFeedPruneAndTheNodeAwayTooLong(t *testing.T) {
	held := holdListener()
	a := openWith(t, Options{FeedPoll: noPoll, ChangesKeptRows: 3})
	var logged logbuf.SyncBuffer
	b := openDSN(t, a.pool.Config().ConnString(), Options{FeedPoll: noPoll, Logger: slog.New(slog.NewTextHandler(&logged, nil)),
		listenerLost: held.hook})
	t.Cleanup(held.release)
	logB := observe(b)
	mb := newMailbox(t, a, "Queues/Support")
	logB.waitFor(t, 1)
	if _, err := a.pool.Exec(context.Background(), "SELECT pg_terminate_backend($1)", b.listenerPID.Load()); err != nil {
		t.Fatal(err)
	}
	<-held.lost
	for range 10 {
		if err := deliver(a, mb.ID, "a"); err != nil {
			t.Fatal(err)
		}
	}
	a.prune(context.Background())
	if rows, pruned := changesRows(t, a); rows != 3 || pruned != 8 {
		t.Errorf("after pruning to 3 rows: %d rows, pruned up to seq %d; want 3 and 8", rows, pruned)
	}
	held.release()
	uids, _ := uidsOf(logB.waitAdded(t, mb.ID, 3), mb.ID)
	if !slices.Equal(uids, []store.UID{8, 9, 10}) {
		t.Errorf("the node away observed UIDs %v, want the 3 kept: [8 9 10]", uids)
	}
	if !strings.Contains(logged.String(), "from_seq=2 to_seq=8") {
		t.Errorf("the node away logged %q, want the seqs it missed (2 to 8)", logged.String())
	}
	if n := strings.Count(logged.String(), "lost the database connection listening for other nodes' changes; reconnecting\" key=store.dsn"); n != 1 {
		t.Errorf("the outage logged %d times naming store.dsn, want once:\n%s", n, logged.String())
	}

	aged := openDSN(t, a.pool.Config().ConnString(), Options{FeedPoll: noPoll, ChangesKeptFor: time.Microsecond})
	aged.prune(context.Background())
	if rows, pruned := changesRows(t, a); rows != 0 || pruned != 11 {
		t.Errorf("after pruning what is older than 1µs: %d rows, pruned up to seq %d; want 0 and 11", rows, pruned)
	}
}

// A batch whose notification never came (committed without NOTIFY, as
// when the notification is lost) reaches the other node by the safety
// poll.
func TestFeedPollCatchesUpWithoutNotification(t *testing.T) {
	nodes := openNodes(t, 2, Options{FeedPoll: 50 * time.Millisecond})
	a, b := nodes[0], nodes[1]
	logB := observe(b)
	newMailbox(t, a, "Queues/Support")
	logB.waitFor(t, 1) // b listens, and caught up
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, a.pool, func(q pgx.Tx) error {
		_, err := q.Exec(ctx, "INSERT INTO changes (node, data) VALUES ('silent', $1)", `[{"Kind":4,"Mailbox":7}]`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := logB.waitFor(t, 2)
	if got[1].Kind != store.MailboxCreated || got[1].Mailbox != 7 {
		t.Errorf("node b observed %+v, want mailbox 7 created", got[1])
	}
}
