package duty_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/duty"
	"mxdesk/store/pgstore"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// waitTimeout bounds every wait on an event.
const waitTimeout = 20 * time.Second

// node is one store on the shared database running a duty.
type node struct {
	name    string
	st      *pgstore.Store
	log     *testutil.SyncBuffer
	refused chan struct{} // one per time Acquire answered ErrHeld
	running chan context.Context
}

// countingLocker counts the refusals of its Locker.
type countingLocker struct {
	duty.Locker
	n *node
}

func (c countingLocker) Acquire(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	lost, release, err := c.Locker.Acquire(ctx, name)
	if errors.Is(err, duty.ErrHeld) {
		select {
		case c.n.refused <- struct{}{}:
		default: // the test has seen enough
		}
	}
	return lost, release, err
}

func openNode(t *testing.T, name, dsn string) *node {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &node{name: name, st: st, log: &testutil.SyncBuffer{}, running: make(chan context.Context, 4), refused: make(chan struct{}, 16)}
}

// run runs the duty "timers" on n until the test ends; holders counts
// the nodes running it at once and max the most ever.
func (n *node) run(t *testing.T, holders, most *atomic.Int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	log := slog.New(slog.NewTextHandler(n.log, nil))
	wg.Go(func() {
		duty.Run(ctx, countingLocker{Locker: n.st, n: n}, "timers", log, func(ctx context.Context) {
			h := holders.Add(1)
			for m := most.Load(); h > m && !most.CompareAndSwap(m, h); m = most.Load() {
			}
			n.running <- ctx
			<-ctx.Done()
			holders.Add(-1)
		})
	})
}

func shortRetry(t *testing.T) {
	old := duty.SetRetryInterval(50 * time.Millisecond)
	t.Cleanup(func() { duty.SetRetryInterval(old) })
}

// Two nodes ask for one duty: one runs it, the other is refused, over
// and over, and never runs it meanwhile.
func TestOneNodeHoldsADuty(t *testing.T) {
	shortRetry(t)
	dsn := pgtest.Shared(t).NewDB(t)
	a, b := openNode(t, "a", dsn), openNode(t, "b", dsn)
	var holders, most atomic.Int64
	a.run(t, &holders, &most)
	b.run(t, &holders, &most)
	var holder, other *node
	select {
	case <-a.running:
		holder, other = a, b
	case <-b.running:
		holder, other = b, a
	case <-time.After(waitTimeout):
		t.Fatal("no node took the duty")
	}
	waitRefused(t, other, 5)
	if m := most.Load(); m != 1 {
		t.Fatalf("%d nodes ran the duty at once", m)
	}
	if !strings.Contains(holder.log.String(), `msg="duty taken" duty=timers`) {
		t.Errorf("holder's log lacks duty taken:\n%s", holder.log)
	}
	if strings.Contains(other.log.String(), "duty taken") {
		t.Errorf("the other node took the duty too:\n%s", other.log)
	}
}

// The holder's session ends (as when its node is killed: PostgreSQL
// drops the session's locks): its work is cut off and the other node
// takes the duty over within the retry interval.
func TestDutyTakenOverWhenHolderSessionEnds(t *testing.T) {
	shortRetry(t)
	srv := pgtest.Shared(t)
	dsn := srv.NewDB(t)
	a, b := openNode(t, "a", dsn), openNode(t, "b", dsn)
	var holders, most atomic.Int64
	a.run(t, &holders, &most)
	var held context.Context
	select {
	case held = <-a.running:
	case <-time.After(waitTimeout):
		t.Fatal("node a did not take the duty")
	}
	b.run(t, &holders, &most)
	waitRefused(t, b, 1)

	key := pgstore.DutyKey("timers")
	admin, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var terminated bool
	err = admin.QueryRow(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND classid::bigint = $1 AND objid::bigint = $2`,
		int64(uint32(key>>32)), int64(uint32(key))).Scan(&terminated)
	if err != nil || !terminated {
		t.Fatalf("terminating the holder's session: %v, %v", terminated, err)
	}
	select {
	case <-held.Done():
	case <-time.After(waitTimeout):
		t.Fatal("node a's work went on after its lock's session ended")
	}
	select {
	case <-b.running:
	case <-time.After(waitTimeout):
		t.Fatalf("node b did not take the duty over; b's log:\n%s", b.log)
	}
	if !strings.Contains(a.log.String(), "duty lost") {
		t.Errorf("node a's log lacks duty lost:\n%s", a.log)
	}
	if m := most.Load(); m != 1 {
		t.Fatalf("%d nodes ran the duty at once", m)
	}
}

// Local grants every duty at once: one node alone runs everything.
func TestLocalAlwaysGranted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		duty.Run(ctx, duty.Local{}, "timers", nil, func(ctx context.Context) {
			close(ran)
			<-ctx.Done()
		})
	}()
	select {
	case <-ran:
	case <-time.After(waitTimeout):
		t.Fatal("Local did not grant the duty")
	}
	cancel()
	<-done
}

// waitRefused waits until n was refused the duty times times.
func waitRefused(t *testing.T, n *node, times int) {
	t.Helper()
	deadline := time.After(waitTimeout)
	for i := 0; i < times; i++ {
		select {
		case <-n.refused:
		case <-deadline:
			t.Fatalf("node %s refused the duty %d times, want %d", n.name, i, times)
		}
	}
}
