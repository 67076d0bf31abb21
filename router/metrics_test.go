package router_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"mxdesk/metrics"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

// rerunStore runs every transaction function once in a transaction it
// throws away before running it for real, as the store does when another
// update of the same batch fails; failing makes Update fail after running
// the function.
type rerunStore struct {
	store.Store
	failing bool
}

var errThrownAway = errors.New("batch re-run")

func (s *rerunStore) Update(ctx context.Context, opts store.UpdateOptions, fn func(store.Tx) error) error {
	err := s.Store.Update(ctx, opts, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errThrownAway
	})
	if !errors.Is(err, errThrownAway) {
		return err
	}
	if s.failing {
		return errors.New("commit failed")
	}
	return s.Store.Update(ctx, opts, fn)
}

// histogram is the count and sum of the histogram name for queue.
func histogram(t *testing.T, reg *prometheus.Registry, name, queue string) (uint64, float64) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.Metric {
			if labelValue(m, "queue") == queue {
				return m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum()
			}
		}
	}
	return 0, 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, lp := range m.Label {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// TestLatencyMetricsCountCommittedWorkOnce: a reply that takes a session
// waiting for ten minutes observes an assignment latency and a first
// response of ten minutes, once even though its transaction ran twice; a
// second reply observes neither; a reply whose commit fails, nothing.
func TestLatencyMetricsCountCommittedWorkOnce(t *testing.T) {
	cfg := testutil.Config(t, "")
	bs := teststore.Open(t, "", teststore.Options{NoSync: true})
	defer bs.Close()
	st := &rerunStore{Store: bs}
	clock := testutil.NewClock()
	reg := prometheus.NewRegistry()
	r, err := router.New(cfg, st, router.Options{Now: clock.Now, Metrics: metrics.New(reg)})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, r, "support@example.test", "Message-ID: <q1@customer.test>\r\n")
	deliver(t, r, "support@example.test", "Message-ID: <q2@customer.test>\r\n")
	clock.Advance(10 * time.Minute)
	alice := login(t, r, "alice@example.test")
	reply := func(inReplyTo, id string) error {
		raw := "From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: help\r\nMessage-ID: <" + id +
			">\r\nIn-Reply-To: <" + inReplyTo + ">\r\n\r\nanswer\r\n"
		_, err := r.Submit(ctx, alice, router.Envelope{From: "alice@example.test", To: []string{"carla@customer.test"}}, []byte(raw))
		return err
	}
	check := func(when string, wantCount uint64, wantSum float64) {
		t.Helper()
		for _, name := range []string{"mxdesk_assignment_latency_seconds", "mxdesk_first_response_seconds"} {
			n, sum := histogram(t, reg, name, "Support")
			if n != wantCount || sum != wantSum {
				t.Errorf("%s: %s has %d observations summing %vs, want %d and %vs", when, name, n, sum, wantCount, wantSum)
			}
		}
	}
	if err := reply("q1@customer.test", "a1@example.test"); err != nil {
		t.Fatal(err)
	}
	check("after the first reply", 1, 600)
	clock.Advance(time.Minute)
	if err := reply("q1@customer.test", "a2@example.test"); err != nil {
		t.Fatal(err)
	}
	check("after a second reply", 1, 600)
	st.failing = true
	if err := reply("q2@customer.test", "a3@example.test"); err == nil {
		t.Fatal("a reply whose commit failed succeeded")
	}
	check("after a failed reply", 1, 600)
	st.failing = false
	if err := reply("q2@customer.test", "a4@example.test"); err != nil {
		t.Fatal(err)
	}
	check("after the reply to the other session", 2, 600+660)
}
