package outboxloop

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mxdesk/store"
)

// TestLoopWakes: the loop looks again on a commit holding a change of its
// kind and on a Kick, and Run returns when its context ends.
func TestLoopWakes(t *testing.T) {
	var observer store.Observer
	subscribed := make(chan struct{})
	looks := make(chan struct{}, 10)
	l := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, Outbox{
			Name: "test outbox", Where: "test", Log: slog.Default(),
			Subscribe: func(o store.Observer) func() { observer = o; close(subscribed); return func() {} },
			Queued:    store.HookQueued,
			Dispatch: func(context.Context, *sync.WaitGroup) time.Duration {
				looks <- struct{}{}
				return time.Hour
			},
		})
	}()
	<-subscribed
	<-looks // the first look, at start
	observer([]store.Change{{Kind: store.MessageAdded}, {Kind: store.HookQueued}})
	<-looks
	l.Kick()
	<-looks
	cancel()
	<-done
	if l.Err() != nil {
		t.Fatalf("Err after a clean stop: %v", l.Err())
	}
}
