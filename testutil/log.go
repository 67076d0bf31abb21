package testutil

import "mxdesk/testutil/logbuf"

// SyncBuffer is a bytes.Buffer that a server's goroutines can log into
// while a test reads it (logbuf.SyncBuffer).
type SyncBuffer = logbuf.SyncBuffer
