package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
)

// probeTimeout bounds the wait for one probe's EXISTS.
const probeTimeout = 10 * time.Second

// idleResult is what the IDLE probe measured.
type idleResult struct {
	Probes    int             // probes whose EXISTS arrived
	Errors    int             // probes that failed or timed out
	Early     int             // EXISTS arrived before the 250 reply
	ToIdle    []time.Duration // 250 reply to DATA -> EXISTS
	TxnToIdle []time.Duration // MAIL FROM -> EXISTS
	Samples   []string
	SetupErr  string // the probe could not start at all
}

func (r *idleResult) fail(err error) {
	r.Errors++
	if len(r.Samples) < 10 {
		r.Samples = append(r.Samples, err.Error())
	}
}

// existsEvent is one untagged EXISTS and when it arrived.
type existsEvent struct {
	num uint32
	at  time.Time
}

// idleWatcher is an IMAP connection idling on the probe folder.
type idleWatcher struct {
	client *imapclient.Client
	idle   *imapclient.IdleCommand
	events chan existsEvent
	count  uint32 // messages in the folder as last seen
}

// runIdleProbe sends c.IdleProbes messages one at a time and times their
// EXISTS on an idling IMAP connection.
func runIdleProbe(c *benchConfig) *idleResult {
	res := &idleResult{}
	w, err := startIdleWatcher(c)
	if err != nil {
		res.SetupErr = err.Error()
		res.Errors = c.IdleProbes
		return res
	}
	defer w.close()
	gen := newMessageGen(c)
	var cl *smtp.Client
	defer func() {
		if cl != nil {
			cl.Quit()
		}
	}()
	for n := range c.IdleProbes {
		if cl == nil {
			if cl, err = dialSMTP(c, c.target(0)); err != nil {
				res.fail(err)
				continue
			}
		}
		if err := probeOnce(c, cl, w, gen.message(n), res); err != nil {
			res.fail(err)
			cl.Close()
			cl = nil
		}
	}
	return res
}

// probeOnce sends one message over cl and waits for its EXISTS on w.
func probeOnce(c *benchConfig, cl *smtp.Client, w *idleWatcher, msg []byte, res *idleResult) error {
	start := time.Now()
	if err := transaction(cl, c.From, c.To, msg); err != nil {
		return err
	}
	acked := time.Now()
	ev, err := w.next()
	if err != nil {
		return err
	}
	toIdle := ev.at.Sub(acked)
	if toIdle < 0 {
		res.Early++
		toIdle = 0
	}
	res.Probes++
	res.ToIdle = append(res.ToIdle, toIdle)
	res.TxnToIdle = append(res.TxnToIdle, ev.at.Sub(start))
	return nil
}

// startIdleWatcher logs in, selects c.Folder and starts IDLE.
func startIdleWatcher(c *benchConfig) (*idleWatcher, error) {
	w := &idleWatcher{events: make(chan existsEvent, 1024)}
	opts := &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.events <- existsEvent{num: *d.NumMessages, at: time.Now()}
			}
		},
	}}
	cl, err := imapclient.DialInsecure(c.IMAP, opts)
	if err != nil {
		return nil, fmt.Errorf("IMAP connect: %w", err)
	}
	w.client = cl
	if err := w.open(c); err != nil {
		cl.Close()
		return nil, err
	}
	return w, nil
}

func (w *idleWatcher) open(c *benchConfig) error {
	if err := w.client.Login(c.Login, c.Password).Wait(); err != nil {
		return fmt.Errorf("IMAP LOGIN: %w", err)
	}
	sel, err := w.client.Select(c.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("IMAP SELECT %s: %w", c.Folder, err)
	}
	w.count = sel.NumMessages
	if w.idle, err = w.client.Idle(); err != nil {
		return fmt.Errorf("IMAP IDLE: %w", err)
	}
	return nil
}

// next waits for an EXISTS that announces more messages than before.
func (w *idleWatcher) next() (existsEvent, error) {
	timeout := time.NewTimer(probeTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev := <-w.events:
			if ev.num <= w.count {
				continue // a repeated EXISTS, or one after an expunge
			}
			w.count = ev.num
			return ev, nil
		case <-w.client.Closed():
			return existsEvent{}, errors.New("IMAP connection closed while idling")
		case <-timeout.C:
			return existsEvent{}, fmt.Errorf("no EXISTS within %v of the 250 reply", probeTimeout)
		}
	}
}

func (w *idleWatcher) close() {
	if w.idle != nil {
		w.idle.Close()
		w.idle.Wait()
	}
	w.client.Logout().Wait()
	w.client.Close()
}
