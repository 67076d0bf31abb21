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

// errDeclaredInTransit answers a MAIL FROM whose declared SIZE= finds no
// room in limits.inflight_message_bytes (RFC 1870 6.1): temporary.
var errDeclaredInTransit = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 2},
	Message: "Too many messages in transit for the declared SIZE, try again later (limits.inflight_message_bytes)"}

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
			"limit", s.srv.opts.Inflight.Max(), "read", dst.received())
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

// heldBytes is what one message holds of Options.Inflight, given back
// by release: what its body holds in memory (used), and until the body
// is complete at least the size its client declared at MAIL FROM
// (reserved, RFC 1870), so that a declared message finds its room.
type heldBytes struct {
	budget   *ratelimit.Bytes // nil: no budget
	n        int64            // taken from budget
	used     int64            // bytes of the body in memory
	reserved int64            // MAIL FROM ... SIZE=, until settle
}

// needs is what h must hold now.
func (h *heldBytes) needs(used int64) int64 { return max(used, h.reserved) }

// take holds k more bytes of the body, within the reservation first;
// false, holding nothing more, when the budget has not enough left.
func (h *heldBytes) take(k int) bool {
	if h.budget == nil {
		return true
	}
	if more := h.needs(h.used+int64(k)) - h.n; more > 0 {
		if !h.budget.Take(more) {
			return false
		}
		h.n += more
	}
	h.used += int64(k)
	return true
}

// give gives back k of the bytes of the body held (what a reservation
// still covers stays held).
func (h *heldBytes) give(k int) {
	if h.budget != nil && k > 0 {
		h.used -= int64(k)
		h.giveSurplus()
	}
}

// giveSurplus gives back what h holds beyond what it needs.
func (h *heldBytes) giveSurplus() {
	if surplus := h.n - h.needs(h.used); surplus > 0 {
		h.budget.Give(surplus)
		h.n -= surplus
	}
}

// reserve holds k bytes up front, the size a client declared; false,
// holding nothing, when the budget has not that many left.
func (h *heldBytes) reserve(k int64) bool {
	if h.budget == nil {
		return true
	}
	if !h.budget.Take(k) {
		return false
	}
	h.n, h.reserved = k, k
	return true
}

// settle ends the reservation once the body is complete (and, spooled,
// read back): from now on the message holds what it has in memory.
func (h *heldBytes) settle() {
	h.reserved = 0
	if h.budget != nil {
		h.giveSurplus()
	}
}

// release gives back all that is held; it may be called again, and on
// nil.
func (h *heldBytes) release() {
	if h == nil {
		return
	}
	if h.budget != nil {
		h.budget.Give(h.n)
	}
	h.n, h.used, h.reserved = 0, 0, 0
}

// wait holds k more bytes of the body, within the reservation first,
// waiting until ctx ends for the budget to have room.
func (h *heldBytes) wait(ctx context.Context, k int64) error {
	if h.budget == nil {
		return nil
	}
	if more := h.needs(h.used+k) - h.n; more > 0 {
		got, err := h.budget.TakeWait(ctx, more)
		if err != nil {
			return err
		}
		h.n += got
	}
	h.used += k
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
