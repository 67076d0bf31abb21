package metrics

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"mxdesk/panics"
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

// TestPanicsExported: mxdesk_panics_total shows every place at zero and
// the process's count of recovered panics at each.
func TestPanicsExported(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	before := gathered(t, reg, "mxdesk_panics_total")
	if len(before) != len(panics.Places) {
		t.Errorf("%d places exported, want every one of %v", len(before), panics.Places)
	}
	func() {
		defer func() {
			panics.Recovered(slog.New(slog.DiscardHandler), panics.IMAPUpdates, "test", recover())
		}()
		panic(panics.Deliberate("bug"))
	}()
	after := gathered(t, reg, "mxdesk_panics_total")
	for _, where := range panics.Places {
		want := before[where]
		if where == panics.IMAPUpdates {
			want++
		}
		if after[where] != want {
			t.Errorf("mxdesk_panics_total{where=%q} = %v, want %v", where, after[where], want)
		}
	}
}

// gathered is the counter of each where of the family name in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			out[m.Label[0].GetValue()] = m.Counter.GetValue()
		}
	}
	return out
}
