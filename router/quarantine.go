package router

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// QuarantineList lists the originals kept in quarantine, oldest first.
func (r *Router) QuarantineList() ([]store.Quarantined, error) {
	var out []store.Quarantined
	err := r.st.View(func(rd store.Reader) error {
		var err error
		out, err = rd.QuarantineList()
		return err
	})
	return out, err
}

// Quarantined returns one quarantined original and its raw message.
func (r *Router) Quarantined(id uint64) (store.Quarantined, []byte, error) {
	var q store.Quarantined
	var raw []byte
	err := r.st.View(func(rd store.Reader) error {
		var err error
		if q, err = rd.Quarantined(id); err != nil {
			return err
		}
		raw, err = rd.Blob(q.Blob)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return q, nil, errorf(KindNotFound, "nothing in quarantine with ID %d", id)
	}
	return q, raw, err
}

// Release re-delivers a quarantined original, whole, into its session (an
// admin judged it safe) and takes it out of quarantine, in one
// transaction.
func (r *Router) Release(ctx context.Context, id uint64, actor string) (string, error) {
	var session string
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		q, err := tx.Quarantined(id)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindNotFound, "nothing in quarantine with ID %d", id)
		}
		if err != nil {
			return err
		}
		raw, err := tx.Blob(q.Blob)
		if err != nil {
			return err
		}
		s, err := tx.Session(q.Session)
		if err != nil {
			return fmt.Errorf("router: release %d into session %s: %w", id, q.Session, err)
		}
		old := s
		if s.Status == StatusClosed {
			if err := r.setStatus(tx, &s, StatusReopened, actor, "quarantined message released"); err != nil {
				return err
			}
		}
		if _, err := r.fileInSession(tx, old, &s, markReleased(raw, s.ID, id), nil); err != nil {
			return err
		}
		session = s.ID
		if err := r.event(tx, s.ID, "released", actor, fmt.Sprintf("quarantine %d released whole: %s", id, strings.Join(q.Removed, "; "))); err != nil {
			return err
		}
		return tx.Unquarantine(id)
	})
	return session, err
}

// markReleased stamps a released original like any stored message (the
// sender's X-Mxdesk-* removed, ours added) and marks it, so agents can
// tell it from the cleaned copy they already have.
func markReleased(raw []byte, session string, id uint64) []byte {
	src := bytes.NewReader(raw)
	br := bufio.NewReader(src)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return raw // kept as it arrived, like an unparseable inbound header
	}
	body := raw[len(raw)-src.Len()-br.Buffered():]
	stampOurs(&h, session)
	h.Add("X-Mxdesk-Released", fmt.Sprintf("from quarantine %d", id))
	return assemble(h, body)
}

// DeleteQuarantined drops a quarantined original for good.
func (r *Router) DeleteQuarantined(ctx context.Context, id uint64, actor string) error {
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		q, err := tx.Quarantined(id)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindNotFound, "nothing in quarantine with ID %d", id)
		}
		if err != nil {
			return err
		}
		if err := r.event(tx, q.Session, "quarantine-deleted", actor, fmt.Sprintf("quarantine %d deleted", id)); err != nil {
			return err
		}
		return tx.Unquarantine(id)
	})
}
