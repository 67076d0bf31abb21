package testutil

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the S3 server when the test binary
// dies without its cleanup (killed, or its output pipe closed).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
