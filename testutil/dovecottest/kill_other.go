//go:build !linux

package dovecottest

import "os/exec"

// killWithParent does nothing here: only Linux can tie a child's life to
// its parent's.
func killWithParent(cmd *exec.Cmd) {}
