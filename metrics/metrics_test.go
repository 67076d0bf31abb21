package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestNilSet: every method is a no-op on a nil *Set, so code without
// metrics needs no checks.
func TestNilSet(t *testing.T) {
	var s *Set
	s.ConnOpened("smtp")
	s.ConnClosed("smtp")
	s.ConnRefused("smtp")
	s.Listeners("smtp")
	s.Queues("Support")
	s.AuthFailed("imap", false)
	s.MessageReceived("Support")
	s.MessageRejected("smtp", ReasonTooBig)
	s.MessageSubmitted("reply")
	s.Assigned("Support", time.Second)
	s.FirstResponse("Support", time.Second)
	s.AutoReply("Support", false, "loop")
	s.Commit(time.Millisecond, 1, nil)
}

// TestSetsDoNotCollide: two Sets on two registries (two gateways in one
// process) count apart.
func TestSetsDoNotCollide(t *testing.T) {
	a, b := New(prometheus.NewRegistry()), New(prometheus.NewRegistry())
	a.MessageReceived("Support")
	a.AutoReply("Support", true, "")
	a.AutoReply("Support", false, "loop")
	a.Commit(time.Millisecond, 3, nil)
	a.Commit(0, 1, errors.New("disk full"))
	if got := value(t, a.received.WithLabelValues("Support")); got != 1 {
		t.Errorf("a received %v", got)
	}
	if got := value(t, b.received.WithLabelValues("Support")); got != 0 {
		t.Errorf("b received %v", got)
	}
	if got := value(t, a.autoReplies.WithLabelValues("Support", "loop")); got != 1 {
		t.Errorf("auto-replies not sent for loop: %v", got)
	}
	if got := value(t, a.commitErrors); got != 1 {
		t.Errorf("commit errors %v", got)
	}
	var h dto.Metric
	if err := a.commitSeconds.Write(&h); err != nil || h.Histogram.GetSampleCount() != 1 {
		t.Errorf("commit histogram: %v %v", err, h.Histogram.GetSampleCount())
	}
}

func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// BenchmarkInboundMessage is what one inbound message on its own
// connection costs in metrics: a connection opened and closed, the
// message counted, its commit observed.
func BenchmarkInboundMessage(b *testing.B) {
	s := New(prometheus.NewRegistry())
	for b.Loop() {
		s.ConnOpened("smtp")
		s.MessageReceived("Support")
		s.Commit(time.Millisecond, 1, nil)
		s.ConnClosed("smtp")
	}
}
