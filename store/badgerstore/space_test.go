package badgerstore

import (
	"errors"
	"testing"
)

// Messages admitted and not yet committed count against the free space
// together: the second of two that each fit alone is refused until the
// first is released.
func TestReserveCountsWhatIsAdmitted(t *testing.T) {
	s := &Store{dir: "/data", minFree: 100}
	s.free.Store(150)
	release, err := s.Reserve(30)
	if err != nil {
		t.Fatalf("first 30 of 50 above the reserve: %v", err)
	}
	var low *LowSpaceError
	if _, err := s.Reserve(30); !errors.As(err, &low) || low.Min != 100 {
		t.Fatalf("second 30 while the first is pending: %v, want a LowSpaceError", err)
	}
	release()
	if _, err := s.Reserve(30); err != nil {
		t.Fatalf("30 after the first was released: %v", err)
	}
	if s.LowSpace() != nil {
		t.Error("LowSpace with 150 free over a reserve of 100")
	}
	s.free.Store(99)
	if err := s.LowSpace(); !errors.As(err, &low) || low.Free != 99 {
		t.Errorf("LowSpace with 99 free = %v", err)
	}
}
