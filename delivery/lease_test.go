package delivery_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/delivery"
	"mxdesk/router"
	"mxdesk/store/pgstore"
	"mxdesk/testutil/pgtest"
)

// node is one mxdesk node of a multi-node desk: its own store on the
// shared PostgreSQL database, router and delivery worker, with the
// desk's configuration and clock.
type node struct {
	st *pgstore.Store
	r  *router.Router
	w  *delivery.Worker
}

// leaseFor is the nodes' delivery lease; the clock is moved, not waited.
const leaseFor = 15 * time.Minute

// pgNode starts a node on dsn whose attempts report to reports.
func (d *desk) pgNode(dsn string, reports chan<- delivery.Report) *node {
	t := d.t
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &node{st: st}
	if n.r, err = router.New(d.cfg, st, router.Options{Now: d.clock.Now}); err != nil {
		t.Fatal(err)
	}
	opts := d.opts
	opts.Lease = leaseFor
	opts.AfterAttempt = func(r delivery.Report) { reports <- r }
	if n.w, err = delivery.New(n.r, d.cfg, opts); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two nodes' workers run at once on one queue: each message reaches the
// remote once, never twice (each is leased to one worker), and both
// workers find the queue empty at the end.
func TestLeasesSendEachMessageOnceAcrossNodes(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.got = make(chan received, 200)
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port()+"\nconcurrency = 4", delivery.Options{})
	dsn := pgtest.Shared(t).NewDB(t)
	reports := make(chan delivery.Report, 200)
	a, b := d.pgNode(dsn, reports), d.pgNode(dsn, reports)
	d.r = a.r // submit through node a
	const n = 30
	for i := range n {
		d.submit("alice@example.test", "leased "+string(rune('a'+i)), "bob@remote.test")
	}
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	for _, nd := range []*node{a, b} {
		running.Go(func() { nd.w.Run(runCtx) })
	}
	delivered := 0
	for delivered < n {
		select {
		case rep := <-reports:
			delivered += len(rep.Delivered)
		case <-time.After(waitTimeout):
			t.Fatalf("%d of %d messages delivered within %v", delivered, n, waitTimeout)
		}
	}
	stop()
	running.Wait() // no attempt is running
	subjects := map[string]int{}
	for range n {
		m := mx.next(t)
		subjects[subjectOf(m.data)]++
	}
	mx.none(t)
	for s, c := range subjects {
		if c != 1 {
			t.Errorf("%q reached the remote %d times", s, c)
		}
	}
	if len(subjects) != n || delivered != n {
		t.Errorf("%d distinct messages and %d deliveries, want %d", len(subjects), delivered, n)
	}
	if q := d.queue(); len(q) != 0 {
		t.Errorf("%d messages still queued", len(q))
	}
}

// A node that leased a message and died before sending it holds it until
// the lease ends: another node's worker leaves it alone until then, and
// sends it once the lease has expired.
func TestDeadNodesLeaseTakenOverAtExpiry(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	dsn := pgtest.Shared(t).NewDB(t)
	reports := make(chan delivery.Report, 10)
	a, b := d.pgNode(dsn, reports), d.pgNode(dsn, reports)
	d.r = a.r
	d.submit("alice@example.test", "orphaned", "bob@remote.test")
	q := d.queue()
	if len(q) != 1 {
		t.Fatalf("queue: %+v", q)
	}
	now := d.clock.Now()
	if _, ok, err := a.r.LeaseOutbound(ctx, q[0].ID, now, now.Add(leaseFor)); err != nil || !ok {
		t.Fatalf("node a's lease: %v, %v", ok, err)
	}
	a.st.Close() // node a dies holding the lease

	if n, err := b.w.RunDue(ctx); err != nil || n != 0 {
		t.Fatalf("node b attempted %d messages under a's lease (%v)", n, err)
	}
	mx.none(t)
	d.clock.Advance(leaseFor - time.Second)
	if n, err := b.w.RunDue(ctx); err != nil || n != 0 {
		t.Fatalf("node b attempted %d messages before a's lease ended (%v)", n, err)
	}
	d.clock.Advance(time.Second)
	if n, err := b.w.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("node b attempted %d messages after a's lease ended, want 1 (%v)", n, err)
	}
	if rep := <-reports; len(rep.Delivered) != 1 || rep.Queued {
		t.Errorf("node b's attempt: %+v", rep)
	}
	if got := subjectOf(mx.next(t).data); got != "orphaned" {
		t.Errorf("the remote got %q", got)
	}
	d.r = b.r
	if q := d.queue(); len(q) != 0 {
		t.Errorf("still queued: %+v", q)
	}
}

// subjectOf is the Subject of a raw message.
func subjectOf(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if s, ok := strings.CutPrefix(line, "Subject: "); ok {
			return s
		}
	}
	return ""
}

// A node that stops in the middle of sending gives the lease back: the
// message is due again at once, and another node sends it.
func TestStoppedNodeGivesItsLeaseBack(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	entered, block := make(chan struct{}, 1), make(chan struct{})
	defer close(block)
	mx.mu.Lock()
	mx.data = func() error {
		entered <- struct{}{}
		<-block
		return reply(451, smtp.EnhancedCode{4, 3, 0}, "cut off")
	}
	mx.mu.Unlock()
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	dsn := pgtest.Shared(t).NewDB(t)
	reports := make(chan delivery.Report, 10)
	a, b := d.pgNode(dsn, reports), d.pgNode(dsn, reports)
	d.r = a.r
	d.submit("alice@example.test", "cut off", "bob@remote.test")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.w.Run(runCtx)
	}()
	select {
	case <-entered: // node a is sending the message's DATA
	case <-time.After(waitTimeout):
		t.Fatal("node a did not send")
	}
	stop() // node a stops
	<-done
	<-reports // a's cut-off attempt
	mx.mu.Lock()
	mx.data = nil
	mx.mu.Unlock()
	if n, err := b.w.RunDue(ctx); err != nil || n != 1 {
		t.Fatalf("node b attempted %d messages after a stopped, want 1 (%v)", n, err)
	}
	if rep := <-reports; len(rep.Delivered) != 1 {
		t.Errorf("node b's attempt: %+v", rep)
	}
	if got := subjectOf(mx.next(t).data); got != "cut off" {
		t.Errorf("the remote got %q", got)
	}
}
