package e2e

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestDataDirIsPrivate: everything `mxdesk serve` creates in data_dir is
// its user's alone (files 0600 or stricter, directories 0700), though
// badger creates its files with mode 0666 and the test runs mxdesk with
// its own umask; the files of an older store, written 0644, are made
// private at start.
func TestDataDirIsPrivate(t *testing.T) {
	env := newEnv(t)
	dataDir := filepath.Join(env.dir, "data")
	srv := env.start(t)
	deliver(t, srv.addr("smtp"), "modes@client.example")
	checkPrivate(t, dataDir)
	srv.stop()
	checkPrivate(t, dataDir)

	walk(t, filepath.Join(dataDir, "store"), func(path string, d fs.DirEntry) {
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	})
	srv = env.start(t)
	srv.stop()
	checkPrivate(t, dataDir)
}

// checkPrivate fails the test for every file under dir that its group or
// others may use, and every directory that is not 0700.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	files := 0
	walk(t, dir, func(path string, d fs.DirEntry) {
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return // the running server removed it (a rotated memtable)
		}
		if err != nil {
			t.Fatal(err)
		}
		perm := info.Mode().Perm()
		if d.IsDir() && perm != 0o700 || !d.IsDir() && perm&0o077 != 0 {
			t.Errorf("%s: mode %v", path, info.Mode())
		}
		files++
	})
	if files < 5 {
		t.Errorf("only %d entries in %s: is it the store?", files, dir)
	}
}

func walk(t *testing.T, dir string, fn func(path string, d fs.DirEntry)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path != dir {
			return nil
		}
		if err != nil {
			return err
		}
		fn(path, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
