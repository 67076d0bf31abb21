package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"mxdesk/store"
)

// defaultConnectTimeout bounds a connection attempt when store.dsn names
// no connect_timeout: an unreachable server then fails an Update within
// it (a temporary error for the client) instead of holding the writer for
// the operating system's TCP timeout.
const defaultConnectTimeout = 5 * time.Second

// unavailable wraps err with store.ErrUnavailable when it says the
// server can't be reached or serve now, so that the protocol servers
// answer a temporary error.
func unavailable(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !connectionLost(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// connectionLost tells whether err is the server out of reach, or
// refusing work for the moment (shutting down, starting up, out of
// connections or disk), rather than a fault of the statement.
func connectionLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || // connection_exception
			strings.HasPrefix(pgErr.Code, "53") || // insufficient_resources
			strings.HasPrefix(pgErr.Code, "57P") // admin_shutdown, crash_shutdown, cannot_connect_now
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

// Ping tells whether the server answers now (readiness), within ctx.
func (s *Store) Ping(ctx context.Context) error {
	return unavailable(s.pool.Ping(ctx))
}
