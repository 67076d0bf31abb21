//go:build unix

package main

import "syscall"

// privateFiles makes every file and directory mxdesk creates private to
// its user (umask 077): the store's files hold every message, and badger
// creates some of them with mode 0666 (its value logs, tables and
// memtables) with no option to change it. Backups, exports and the admin
// socket are private anyway.
func privateFiles() { syscall.Umask(0o077) }
