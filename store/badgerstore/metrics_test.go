package badgerstore

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"mxdesk/store"
)

// TestCommitHookAndSize: the commit hook sees every commit, and Size grows
// with what is stored (bodies in the value log).
func TestCommitHookAndSize(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	var commits, updates atomic.Int64
	s.SetCommitHook(func(took time.Duration, n int, err error) {
		if err != nil || took < 0 {
			t.Errorf("commit hook: %v %v", took, err)
		}
		commits.Add(1)
		updates.Add(int64(n))
	})
	_, vlog0, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("x"), 1<<20)
	for range 3 {
		update(t, s, func(tx store.Tx) error {
			_, err := tx.PutBlob(body)
			return err
		})
	}
	if commits.Load() != 3 || updates.Load() != 3 {
		t.Errorf("hook saw %d commits of %d updates, want 3 and 3", commits.Load(), updates.Load())
	}
	_, vlog, err := s.Size()
	if err != nil {
		t.Fatal(err)
	}
	if vlog-vlog0 < 3<<20 {
		t.Errorf("value log grew by %d bytes after 3 MiB of bodies", vlog-vlog0)
	}
}
