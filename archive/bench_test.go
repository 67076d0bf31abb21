package archive_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mxdesk/archive"
	"mxdesk/config"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// TestArchiveThroughput (opt-in: MXDESK_ARCHIVE_BENCH=1, and
// MXDESK_ARCHIVE_BENCH_SESSIONS, default 10000) archives that many closed
// sessions, one 16 KiB customer message each, to versitygw on loopback
// and reports sessions/s, MB/s and the store's size before and after,
// each measured on the store closed (memtables flushed) and reopened,
// after Compact (LSM flattened, value-log GC run until it reclaims
// nothing).
func TestArchiveThroughput(t *testing.T) {
	if os.Getenv("MXDESK_ARCHIVE_BENCH") == "" {
		t.Skip("opt-in benchmark: MXDESK_ARCHIVE_BENCH=1")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("MXDESK_ARCHIVE_BENCH_SESSIONS")); err == nil {
		n = v
	}
	s3 := testutil.SharedS3(t)
	cfg := testutil.Config(t, testutil.ArchiveConfig(t, s3, testutil.BucketName(t), 30, "max_sessions_per_run = "+strconv.Itoa(n)))
	dir := filepath.Join(cfg.DataDir, "store")
	start := time.Now()
	testutil.ClosedSessions(t, cfg, testutil.Closed{StoreDir: dir, Login: "alice@example.test", Passwd: testutil.Password,
		Address: "support@example.test", Folder: "Queues/Support", N: n, BodyBytes: 16 << 10, NoSync: true})
	t.Logf("made %d closed sessions in %v", n, time.Since(start).Round(time.Millisecond))

	before := compactedSize(t, dir)
	st, err := badgerstore.Open(dir, badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.New(st, func() *config.Config { return cfg }, archive.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	res, err := a.Run(context.Background(), false)
	took := time.Since(start)
	if err != nil || len(res.Archived) != n || len(res.Failed) != 0 {
		t.Fatalf("run: %v, %d archived, %d failed", err, len(res.Archived), len(res.Failed))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	after := compactedSize(t, dir)
	t.Logf("archived %d sessions, %.1f MB, in %v: %.0f sessions/s, %.1f MB/s", n, float64(res.Bytes)/1e6, took.Round(time.Millisecond),
		float64(n)/took.Seconds(), float64(res.Bytes)/1e6/took.Seconds())
	t.Logf("store size after Compact: before %s, after %s", before, after)
}

// compactedSize opens the store in dir (its memtables were flushed
// when it closed), compacts it and returns its size.
func compactedSize(t *testing.T, dir string) storeSize {
	t.Helper()
	st, err := badgerstore.Open(dir, badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Compact(); err != nil {
		t.Fatal(err)
	}
	lsm, vlog, err := st.Size()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
	return storeSize{lsm, vlog, len(files)}
}

// storeSize is the store's disk use by part.
type storeSize struct {
	lsm, vlog int64
	vlogFiles int
}

func (s storeSize) String() string {
	return fmt.Sprintf("%.1f MB (index %.1f MB, value log %.1f MB in %d files)",
		float64(s.lsm+s.vlog)/1e6, float64(s.lsm)/1e6, float64(s.vlog)/1e6, s.vlogFiles)
}
