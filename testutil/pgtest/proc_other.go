//go:build !linux

package pgtest

import "os/exec"

// prepare does nothing here: only Linux ties a child's life to its
// parent's, and the tests run as root only on Linux CI.
func prepare(cmd *exec.Cmd, uid, gid int) {}
