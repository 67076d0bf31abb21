//go:build !linux

package pgtest

import "os/exec"

// prepare runs the command in dir; the rest is Linux's: only Linux ties
// a child's life to its parent's, and the tests run as root only on
// Linux CI.
func prepare(cmd *exec.Cmd, dir string, uid, gid int) { cmd.Dir = dir }
