package smtpserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/emersion/go-smtp"

	"mxdesk/metrics"
)

// errEmptyMessage answers a DATA or BDAT that carried nothing (DATA then
// "." at once, BDAT 0 LAST): there is no message to file.
var errEmptyMessage = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Empty message"}

// errLineTooLong is what lineLimited returns past the limit.
var errLineTooLong = errors.New("line too long")

// readBody reads a message of DATA or BDAT into dst and answers what is
// wrong with it: too big, a line over smtp.max_line_length, or empty;
// other read errors come back as they are (readMessage maps them). No
// log line names s.from after a failed read: go-smtp may be resetting
// the session after a failed BDAT chunk meanwhile.
// go-smtp applies the line limit to DATA only (BDAT chunks are read by
// size), so it is applied here again, for both alike.
func (s *session) readBody(dst *bytes.Buffer, r io.Reader) error {
	start := dst.Len()
	_, err := dst.ReadFrom(&lineLimited{r: r, max: s.srv.opts.MaxLineLength})
	switch {
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
	case len(bytes.TrimSpace(dst.Bytes()[start:])) == 0:
		s.log.Info("rejected", "from", s.from, "reason", "empty message")
		s.rejected(metrics.ReasonInvalid)
		return errEmptyMessage
	}
	return nil
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
