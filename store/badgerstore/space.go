package badgerstore

import (
	"fmt"
	"time"
)

// badger memory-maps its value log, its memtables' write-ahead logs and
// the tables it writes; a write into a mapped page that the filesystem
// can't back raises SIGBUS, which kills the process. So the store keeps a
// reserve of free space (Options.MinFreeBytes, the configuration's
// store.min_free_space): below it the callers refuse new messages
// (LowSpace), and what is still written (flags, sessions, compactions)
// lands in the reserve, never on a full disk.

// Badger's sizes that the reserve must cover.
const (
	memTableSize = 16 << 20
	numMemtables = 3
)

// valueLogFileSize is the size of one value log file: at least twice the
// largest value, so a maximum-size message always fits.
func valueLogFileSize(maxValueBytes int64) int64 {
	size := int64(64 << 20)
	for size < 2*maxValueBytes {
		size *= 2
	}
	return size
}

// MinReserve is the smallest reserve of free space that keeps badger off a
// full disk while the store refuses new messages: one value log file being
// filled, and every memtable's write-ahead log and the table it is
// flushed to.
func MinReserve(maxValueBytes int64) int64 {
	return valueLogFileSize(maxValueBytes) + 2*numMemtables*memTableSize
}

// spaceCheckEvery is how often the free space is measured besides after
// every commit: how soon space that returns (or goes) is noticed.
const spaceCheckEvery = 2 * time.Second

// LowSpaceError says the store's filesystem has less free space than its
// reserve.
type LowSpaceError struct {
	Dir       string
	Free, Min int64
}

func (e *LowSpaceError) Error() string {
	return fmt.Sprintf("%d bytes free on the filesystem of %s, below the reserve store.min_free_space = %d bytes", e.Free, e.Dir, e.Min)
}

// LowSpace is non-nil (a *LowSpaceError) while the free space last
// measured is below Options.MinFreeBytes. It is cheap: it reads the
// measurement that commits and a timer refresh.
func (s *Store) LowSpace() error {
	if free := s.free.Load(); s.minFree > 0 && free < s.minFree {
		return &LowSpaceError{Dir: s.dir, Free: free, Min: s.minFree}
	}
	return nil
}

// Reserve admits a write of about n bytes (a message): it fails with a
// *LowSpaceError when the free space, less what was admitted and is not
// yet committed, would fall below the reserve with it, so that many
// messages accepted at once can't together write the disk full. release
// gives the admission back once the write committed or failed: the commit
// measured the space it took.
func (s *Store) Reserve(n int64) (release func(), err error) {
	if s.minFree <= 0 {
		return func() {}, nil
	}
	pending := s.pending.Add(n)
	if free := s.free.Load(); free-pending < s.minFree {
		s.pending.Add(-n)
		return nil, &LowSpaceError{Dir: s.dir, Free: free, Min: s.minFree}
	}
	return func() { s.pending.Add(-n) }, nil
}

// FreeSpace is the free space last measured on the store's filesystem and
// the reserve (0: none).
func (s *Store) FreeSpace() (free, reserve int64) {
	return s.free.Load(), s.minFree
}

// measureSpace measures the free space now and logs when it crosses the
// reserve, either way.
func (s *Store) measureSpace() {
	free, err := freeBytes(s.dir)
	if err != nil {
		s.log.Warn("store: can't measure free space", "dir", s.dir, "err", err)
		return
	}
	s.free.Store(free)
	if s.minFree <= 0 {
		return
	}
	low := free < s.minFree
	if s.low.Swap(low) == low {
		return
	}
	if low {
		s.log.Error("store: free space below store.min_free_space, refusing new messages until space returns",
			"dir", s.dir, "free_bytes", free, "store.min_free_space", s.minFree)
	} else {
		s.log.Info("store: free space back above store.min_free_space, accepting messages again",
			"dir", s.dir, "free_bytes", free, "store.min_free_space", s.minFree)
	}
}

// spaceLoop measures the free space every spaceCheckEvery, so that the
// store notices space that returns (or goes) while nothing is written.
func (s *Store) spaceLoop() {
	t := time.NewTicker(spaceCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.measureSpace()
		}
	}
}

// checkSpaceBeforeOpen refuses to open the store in dir when its
// filesystem is already below the reserve: badger writes as it opens
// (replaying and flushing its logs), and on a full disk that is SIGBUS.
func checkSpaceBeforeOpen(dir string, minFree int64) error {
	if minFree <= 0 {
		return nil
	}
	free, err := freeBytes(dir)
	if err != nil {
		return fmt.Errorf("measure free space in %s: %w", dir, err)
	}
	if free < minFree {
		return &LowSpaceError{Dir: dir, Free: free, Min: minFree}
	}
	return nil
}
