package store

import "errors"

// ErrUnavailable is wrapped by the errors of a store whose database
// server can't be reached for now (PostgreSQL stopped, restarting, out of
// connections, the network cut): the same call may succeed later. The
// servers answer it with a temporary error (SMTP 451 4.3.0, IMAP NO
// [UNAVAILABLE]), never 5xx and never as an internal error.
var ErrUnavailable = errors.New("store: the database is unavailable")
