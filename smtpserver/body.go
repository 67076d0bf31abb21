package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-smtp"

	"mxdesk/metrics"
	"mxdesk/ratelimit"
)

// errEmptyMessage answers a DATA or BDAT that carried nothing (DATA then
// "." at once, BDAT 0 LAST): there is no message to file.
var errEmptyMessage = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Empty message"}

// errLineTooLong is what lineLimited returns past the limit.
var errLineTooLong = errors.New("line too long")

// errInTransit answers a message that would take the bodies held in
// memory by all connections past limits.inflight_message_bytes: RFC
// 3463's "system congestion", temporary, so the sender retries.
var errInTransit = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
	Message: "Too many messages in transit, try again later (limits.inflight_message_bytes)"}

// errOverBudget is what budgeted returns when the budget is spent.
var errOverBudget = errors.New("limits.inflight_message_bytes reached")

// readBody reads a message of DATA or BDAT into dst and answers what is
// wrong with it: too big, a line over smtp.max_line_length, empty, no
// room for its spool file on the disk; other read errors come back as
// they are (readMessage maps them). No log line names s.from after a
// failed read: go-smtp may be resetting the session after a failed BDAT
// chunk meanwhile.
// go-smtp applies the line limit to DATA only (BDAT chunks are read by
// size), so it is applied here again, for both alike.
// Every byte read is first taken from held (Options.Inflight), and given
// back once it is in the spool file; when the budget is spent, the rest
// of the body is read and thrown away, never buffered.
func (s *session) readBody(dst *spool, r io.Reader, held *heldBytes) error {
	copyBuf := make([]byte, budgetedChunk)
	_, err := io.CopyBuffer(dst, &lineLimited{r: &budgeted{r: r, held: held}, max: s.srv.opts.MaxLineLength}, copyBuf)
	var spoolErr *spoolError
	switch {
	case errors.Is(err, errOverBudget):
		// Given back before the rest is read, so that the messages still
		// being read get the room: were it held until the end, many large
		// messages at once would each be refused, none taken.
		s.log.Warn("deferred", "reason", "messages in transit reached limits.inflight_message_bytes",
			"limit", s.srv.opts.Inflight.Max(), "read", dst.mem.Len()-dst.prefix)
		s.rejected(metrics.ReasonInTransit)
		s.discard(dst, r, held)
		return errInTransit
	case errors.Is(err, errSpoolNoSpace):
		s.log.Warn("deferred", "reason", "a spool file would take the disk below store.min_free_space",
			"dir", s.srv.opts.SpoolDir, "spooled", dst.spooled())
		s.rejected(metrics.ReasonNoSpace)
		s.discard(dst, r, held)
		return errNoSpace
	case errors.As(err, &spoolErr):
		s.log.Error("spool failed", "path", spoolErr.path, "err", spoolErr.err)
		s.rejected(metrics.ReasonStore)
		s.discard(dst, r, held)
		return errStore
	case errors.Is(err, smtp.ErrDataTooLarge):
		s.log.Info("rejected", "reason", "too big")
		s.rejected(metrics.ReasonTooBig)
		return errTooBig
	case errors.Is(err, errLineTooLong), errors.Is(err, smtp.ErrTooLongLine):
		s.log.Info("rejected", "reason", "line longer than smtp.max_line_length", "limit", s.srv.opts.MaxLineLength)
		s.rejected(metrics.ReasonInvalid)
		return &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 6},
			Message: fmt.Sprintf("Line longer than %d bytes (smtp.max_line_length)", s.srv.opts.MaxLineLength)}
	case err != nil:
		return err
	case dst.empty():
		s.log.Info("rejected", "from", s.from, "reason", "empty message")
		s.rejected(metrics.ReasonInvalid)
		return errEmptyMessage
	}
	return nil
}

// discard gives back what a refused body holds, memory, file and disk
// space, then reads the rest of it and throws it away, so that the
// connection goes on.
func (s *session) discard(dst *spool, r io.Reader, held *heldBytes) {
	held.release()
	dst.close()
	dst.mem = bytes.Buffer{}
	io.Copy(io.Discard, r)
}

// lineLimited fails a read once a line (its end of line included) is
// longer than max bytes (0: no limit).
type lineLimited struct {
	r    io.Reader
	max  int
	line int // bytes of the current line so far
}

func (l *lineLimited) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if l.max <= 0 {
		return n, err
	}
	for _, c := range p[:n] {
		l.line++
		if l.line > l.max {
			return 0, errLineTooLong
		}
		if c == '\n' {
			l.line = 0
		}
	}
	return n, err
}

// heldBytes is what one message's body holds of Options.Inflight, given
// back by release.
type heldBytes struct {
	budget *ratelimit.Bytes // nil: no budget
	n      int64
}

// take holds n more bytes; false when the budget has not that many left.
func (h *heldBytes) take(n int) bool {
	if h.budget == nil {
		return true
	}
	if !h.budget.Take(int64(n)) {
		return false
	}
	h.n += int64(n)
	return true
}

// give gives back n of the bytes held.
func (h *heldBytes) give(n int) {
	if h.budget != nil && n > 0 {
		h.budget.Give(int64(n))
		h.n -= int64(n)
	}
}

// release gives back all that is held; it may be called again.
func (h *heldBytes) release() {
	if h.budget != nil {
		h.budget.Give(h.n)
	}
	h.n = 0
}

// wait takes n more bytes, waiting until ctx ends for the budget to
// have room.
func (h *heldBytes) wait(ctx context.Context, n int64) error {
	if h.budget == nil {
		return nil
	}
	got, err := h.budget.TakeWait(ctx, n)
	if err != nil {
		return err
	}
	h.n += got
	return nil
}

// budgeted takes the bytes of each read from held before reading, since
// go-smtp's reader fills the whole buffer it is given, waiting for the
// client: a stalled message holds what it was given room for. Reads are
// at most budgetedChunk long, so that room is small.
type budgeted struct {
	r    io.Reader
	held *heldBytes
}

// budgetedChunk is the most one read takes ahead of the bytes it gets.
const budgetedChunk = 32 << 10

func (b *budgeted) Read(p []byte) (int, error) {
	if len(p) > budgetedChunk {
		p = p[:budgetedChunk]
	}
	if !b.held.take(len(p)) {
		return 0, errOverBudget
	}
	n, err := b.r.Read(p)
	b.held.give(len(p) - n)
	return n, err
}
