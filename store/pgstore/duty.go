package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/duty"
)

// A duty's lock is a session-level advisory lock held on a connection
// taken out of the pool for the duty's life: PostgreSQL drops it the
// moment that session ends, so a node killed with its duties frees them
// at once.
const (
	// dutyCheckInterval is how often a held duty's connection is pinged;
	// a failed ping loses the duty.
	dutyCheckInterval = time.Second
	// dutyPingTimeout bounds one ping (a broken network hangs, not fails).
	dutyPingTimeout = 2 * time.Second
	// dutyTakeoverGrace is how long a node that saw a duty held waits
	// after taking it before running it: long enough for a former holder
	// that is alive but lost its session (network, server restart,
	// pg_terminate_backend) to notice with a failed ping and stop. A
	// holder killed needs no grace, but the taker can't tell.
	dutyTakeoverGrace = dutyCheckInterval + dutyPingTimeout
)

// DutyKey is the advisory lock's 64-bit key for the duty name: in
// pg_locks its high half is classid, its low half objid (objsubid 1).
func DutyKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("mxdesk duty " + name))
	return int64(h.Sum64())
}

var _ duty.Locker = (*Store)(nil)

// Acquire takes the duty name for this node (duty.Locker), or fails
// with duty.ErrHeld when another node's session holds it.
func (s *Store) Acquire(ctx context.Context, name string) (<-chan struct{}, func(), error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("pgstore: duty %s: %w", name, err)
	}
	var ok bool
	if err := pc.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", DutyKey(name)).Scan(&ok); err != nil {
		pc.Release()
		return nil, nil, fmt.Errorf("pgstore: duty %s: %w", name, err)
	}
	if !ok {
		pc.Release()
		s.sawHeld(name, true)
		return nil, nil, duty.ErrHeld
	}
	if s.sawHeld(name, false) {
		if err := graceWait(ctx, pc.Conn()); err != nil {
			pc.Conn().Close(context.Background()) // drops the lock
			pc.Release()
			return nil, nil, fmt.Errorf("pgstore: duty %s: %w", name, err)
		}
	}
	h := &heldDuty{conn: pc.Hijack(), lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	s.dutiesMu.Lock()
	if s.duties == nil {
		s.duties = map[*heldDuty]bool{}
	}
	s.duties[h] = true
	s.dutiesMu.Unlock()
	go h.watch()
	return h.lost, func() { s.releaseDuty(h) }, nil
}

// sawHeld notes whether another node held the duty name at the last
// try, and reports whether it did before.
func (s *Store) sawHeld(name string, held bool) bool {
	s.dutiesMu.Lock()
	defer s.dutiesMu.Unlock()
	before := s.heldElsewhere[name]
	if s.heldElsewhere == nil {
		s.heldElsewhere = map[string]bool{}
	}
	s.heldElsewhere[name] = held
	return before
}

// graceWait waits dutyTakeoverGrace, then checks the lock's connection.
func graceWait(ctx context.Context, c *pgx.Conn) error {
	t := time.NewTimer(dutyTakeoverGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	}
	ctx, cancel := context.WithTimeout(ctx, dutyPingTimeout)
	defer cancel()
	return c.Ping(ctx)
}

// heldDuty is one duty's lock and the connection that holds it.
type heldDuty struct {
	conn *pgx.Conn
	lost chan struct{} // closed when a ping failed
	stop chan struct{} // closed by release
	done chan struct{} // closed when watch returned
	once sync.Once
}

// watch pings the connection until it fails (the duty is lost) or the
// duty is released.
func (h *heldDuty) watch() {
	defer close(h.done)
	t := time.NewTicker(dutyCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), dutyPingTimeout)
		err := h.conn.Ping(ctx)
		cancel()
		if err != nil {
			close(h.lost)
			return
		}
	}
}

// releaseDuty ends the duty's session, which drops its lock.
func (s *Store) releaseDuty(h *heldDuty) {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
		ctx, cancel := context.WithTimeout(context.Background(), dutyPingTimeout)
		defer cancel()
		h.conn.Close(ctx)
		s.dutiesMu.Lock()
		delete(s.duties, h)
		s.dutiesMu.Unlock()
	})
}

// releaseDuties gives up every duty still held (Close): their
// connections are outside the pool.
func (s *Store) releaseDuties() {
	s.dutiesMu.Lock()
	var all []*heldDuty
	for h := range s.duties {
		all = append(all, h)
	}
	s.dutiesMu.Unlock()
	for _, h := range all {
		s.releaseDuty(h)
	}
}
