package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Shared presence (issue 22): every node writes the agents connected to it
// in the presence table, straight through the pool: a heartbeat every few
// seconds would flood the change feed if it went through Update. Nodes
// tell each other "assign now" with NOTIFY mxdesk_kick, the node's ID as
// payload.

// DefaultPresenceInterval is how often a node renews its presence rows
// and reads the others'. A row three intervals old is a dead node's.
const DefaultPresenceInterval = 2 * time.Second

// presenceStale is how many intervals a row lives without being renewed;
// rows a minute old are deleted.
const (
	presenceStale   = 3
	presenceCleanup = time.Minute
)

// Presence is this node's side of the shared presence
// (router.SharedPresence).
type Presence struct {
	s        *Store
	interval time.Duration
}

// Presence is the shared presence of this node, renewed every interval
// (0: DefaultPresenceInterval).
func (s *Store) Presence(interval time.Duration) *Presence {
	if interval <= 0 {
		interval = DefaultPresenceInterval
	}
	return &Presence{s: s, interval: interval}
}

// Interval is how often the router publishes and reads presence.
func (p *Presence) Interval() time.Duration { return p.interval }

// Publish makes conns (login -> open connections) this node's presence,
// renewing its rows and deleting those of logins no longer connected and
// those of nodes dead for a minute.
func (p *Presence) Publish(ctx context.Context, conns map[string]int) error {
	logins := make([]string, 0, len(conns))
	counts := make([]int32, 0, len(conns))
	for login, n := range conns {
		logins, counts = append(logins, login), append(counts, int32(n))
	}
	return pgx.BeginFunc(ctx, p.s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM presence WHERE (node = $1 AND NOT login = ANY($2)) OR seen_at < now() - $3 * interval '1 millisecond'`,
			p.s.node, logins, presenceCleanup.Milliseconds()); err != nil {
			return fmt.Errorf("pgstore: presence: %w", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO presence (node, login, connections, seen_at)
			SELECT $1, login, n, now() FROM unnest($2::text[], $3::int[]) AS c(login, n)
			ON CONFLICT (node, login) DO UPDATE SET connections = excluded.connections, seen_at = excluded.seen_at`,
			p.s.node, logins, counts)
		if err != nil {
			return fmt.Errorf("pgstore: presence: %w", err)
		}
		return nil
	})
}

// Elsewhere lists the logins connected to other nodes that renewed their
// rows within three intervals.
func (p *Presence) Elsewhere(ctx context.Context) (map[string]bool, error) {
	rows, err := p.s.pool.Query(ctx, `SELECT DISTINCT login FROM presence
		WHERE node <> $1 AND connections > 0 AND seen_at > now() - $2 * interval '1 millisecond'`,
		p.s.node, (presenceStale * p.interval).Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("pgstore: presence: %w", err)
	}
	logins, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: presence: %w", err)
	}
	out := make(map[string]bool, len(logins))
	for _, l := range logins {
		out[l] = true
	}
	return out, nil
}

// Kick asks the other nodes to look again: presence changed here, or a
// session may be assignable now.
func (p *Presence) Kick(ctx context.Context) error {
	_, err := p.s.pool.Exec(ctx, "SELECT pg_notify('mxdesk_kick', $1)", p.s.node)
	return err
}

// Listen calls kicked for each other node's Kick, and once after each
// (re)connection (a kick may have been missed), until ctx ends.
func (p *Presence) Listen(ctx context.Context, kicked func()) {
	for ctx.Err() == nil {
		err := p.listen(ctx, kicked)
		if ctx.Err() != nil {
			return
		}
		p.s.log.Warn("shared presence: lost the connection listening to other nodes; reconnecting", "key", "store.dsn", "err", err)
		t := time.NewTimer(p.interval)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

func (p *Presence) listen(ctx context.Context, kicked func()) error {
	pc, err := p.s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // LISTEN belongs to the session: keep it out of the pool
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN mxdesk_kick"); err != nil {
		return err
	}
	kicked()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != p.s.node {
			kicked()
		}
	}
}
