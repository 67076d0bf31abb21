package connector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/config"
)

// Backoff of a failing account: from the first to the longest wait,
// doubling.
const (
	firstBackoff = time.Second
	maxBackoff   = 5 * time.Minute
)

// worker imports one account for as long as its context lives.
type worker struct {
	c         *Connector
	acct      config.Account
	queueAddr string
	cancel    context.CancelFunc // ends run's context
	done      chan struct{}      // closed when run returns
	// sentCopies is signalled when a reply to copy to sent_folder was
	// recorded: it ends the wait for mail.
	sentCopies chan struct{}

	mu sync.Mutex
	st Status
}

func newWorker(c *Connector, a config.Account, queueAddr string, cancel context.CancelFunc) *worker {
	return &worker{c: c, acct: a, queueAddr: queueAddr, cancel: cancel, done: make(chan struct{}),
		sentCopies: make(chan struct{}, 1),
		st:         Status{Address: a.Address, LastError: "not connected yet"}}
}

func (w *worker) status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

func (w *worker) setValid() {
	w.mu.Lock()
	w.st.Valid, w.st.LastError = true, ""
	w.mu.Unlock()
}

func (w *worker) setInvalid(err error) {
	w.mu.Lock()
	w.st.Valid, w.st.LastError = false, err.Error()
	w.mu.Unlock()
}

func (w *worker) imported() {
	w.mu.Lock()
	w.st.Imported++
	w.mu.Unlock()
}

// stop ends the worker and waits for it: the next one for the same
// account must not import beside it.
func (w *worker) stop() {
	w.cancel()
	<-w.done
}

// run connects, imports and waits for new mail until ctx ends; a failure
// makes the account invalid and is retried with backoff.
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	backoff := firstBackoff
	for {
		wasValid, err := w.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if wasValid {
			backoff = firstBackoff // it worked: a dropped connection is retried soon
		}
		w.setInvalid(err)
		w.c.opts.Logger.Warn("upstream account failed, retrying", "account", w.acct.Address, "imap", w.acct.IMAP,
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session is one connection: log in, open the folder, then import and
// wait for more until something fails. wasValid says it got that far.
func (w *worker) session(ctx context.Context) (wasValid bool, err error) {
	newMail := make(chan struct{}, 1)
	conn, cl, err := w.dial(ctx, newMail)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	stopClosing := context.AfterFunc(ctx, func() { cl.Close() })
	defer stopClosing()
	password, err := config.ReadSecret(w.acct.PasswordFile)
	if err != nil {
		return false, fmt.Errorf("password_file: %w", err)
	}
	if err := cl.Login(w.acct.Login, password).Wait(); err != nil {
		return false, fmt.Errorf("login failed for %q: %w", w.acct.Login, err)
	}
	sel, err := w.selectFolder(cl)
	if err != nil {
		return false, err
	}
	st, err := w.position(ctx, sel)
	if err != nil {
		return false, err
	}
	w.setValid()
	w.c.opts.Logger.Info("upstream account connected", "account", w.acct.Address, "folder", w.acct.Folder,
		"uidvalidity", st.UIDValidity, "last_uid", st.LastUID, "idle", cl.Caps().Has(imap.CapIdle))
	warned := false // of delete_after_days without UIDPLUS
	for {
		if err := w.appendSentCopies(ctx, cl); err != nil {
			return true, err
		}
		if err := w.importNew(ctx, cl, &st); err != nil {
			return true, err
		}
		if err := w.expireOld(ctx, cl, st, &warned); err != nil {
			return true, err
		}
		if err := w.waitForMail(ctx, conn, cl, newMail); err != nil {
			return true, err
		}
	}
}

// waitForMail returns when the folder may hold new mail: at an EXISTS
// during IDLE, or after poll_interval (the longest IDLE too).
func (w *worker) waitForMail(ctx context.Context, conn *deadlineConn, cl *imapclient.Client, newMail <-chan struct{}) error {
	timer := time.NewTimer(w.acct.PollInterval.Duration)
	defer timer.Stop()
	if !cl.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.sentCopies:
			return nil
		case <-timer.C:
			return cl.Noop().Wait()
		}
	}
	// The server may stay silent all along the IDLE.
	conn.setTimeout(w.acct.PollInterval.Duration + w.acct.Timeout.Duration)
	defer conn.setTimeout(w.acct.Timeout.Duration)
	idle, err := cl.Idle()
	if err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-newMail:
	case <-w.sentCopies:
	case <-timer.C:
	}
	if err := idle.Close(); err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	return errors.Join(ctx.Err(), idle.Wait())
}
