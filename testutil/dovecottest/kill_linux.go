package dovecottest

import (
	"os/exec"
	"syscall"
)

// killWithParent has dovecot killed if the test binary dies without
// cleaning up.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
