package pgtest

import (
	"os/exec"
	"syscall"
)

// prepare has the command killed if the test binary dies without cleaning
// up, and run as uid/gid when they are not the current ones (initdb and
// postgres refuse to run as root), in dir (the test's own directory may
// be closed to that user).
func prepare(cmd *exec.Cmd, dir string, uid, gid int) {
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if uid >= 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
}
