package clamdtest

import (
	"os/exec"
	"syscall"
)

// killWithParent has clamd killed if the test binary dies without
// cleaning up.
func killWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
