package pgstore

import (
	"context"
	"errors"
)

// ErrNotDurable is returned by CheckDurable when the server's commits
// may return before they are on disk.
var ErrNotDurable = errors.New("synchronous_commit is off: a commit returns before it is on disk, so a crash of the database can lose mail already answered 250 (set synchronous_commit = on, its default)")

// CheckDurable tells whether this store's commits are durable when they
// return: the session's synchronous_commit (the server's, the database's
// or the role's setting) is not off.
func (s *Store) CheckDurable(ctx context.Context) error {
	var v string
	if err := s.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v); err != nil {
		return unavailable(err)
	}
	if v == "off" {
		return ErrNotDurable
	}
	return nil
}
