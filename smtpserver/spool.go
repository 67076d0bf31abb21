package smtpserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// A message body arrives into a spool: in memory up to
// Options.SpoolThreshold (limits.spool_threshold), past it in a file of
// its own under Options.SpoolDir (data_dir/spool), so that a slow or
// stalled transfer holds a file, not memory. Only the bytes in memory
// count against limits.inflight_message_bytes while the body arrives; a
// spooled body is read back once whole, to be stored, and holds twice
// its size of the cap from then on (storeCopies; waiting for room if need
// be). The file takes
// disk space from the store's free-space guard as it grows
// (store.min_free_space), and is removed whatever ends the message.

// spoolRoomChunk is how much disk space a spool file asks the free-space
// guard for at a time as it grows.
const spoolRoomChunk = 1 << 20

// storeCopies is how many copies of a message storing it takes in
// memory, what a spooled body holds of limits.inflight_message_bytes from
// when it is read back until it is stored: the bytes read back, and the
// copy the router writes its header fields into before the store writes
// it.
const storeCopies = 2

// errSpoolNoSpace is a spool file that would take the disk below
// store.min_free_space.
var errSpoolNoSpace = errors.New("spool: disk below store.min_free_space")

// spoolError is a spool file that could not be written or read.
type spoolError struct {
	path string
	err  error
}

func (e *spoolError) Error() string { return fmt.Sprintf("spool file %s: %v", e.path, e.err) }
func (e *spoolError) Unwrap() error { return e.err }

// spool is one message body: mem until it passes the threshold, then
// file. Its Write is what readBody copies the body into.
type spool struct {
	s      *session
	held   *heldBytes
	mem    bytes.Buffer
	prefix int  // bytes of mem written before the body (not held)
	blank  bool // only white space so far
	file   *os.File
	size   int64    // bytes in file
	room   int64    // disk space admitted for file
	admits []func() // releases of room
}

// newSpool starts a body after prefix (a trace header, or nothing).
func (s *session) newSpool(held *heldBytes, prefix string) *spool {
	sp := &spool{s: s, held: held, prefix: len(prefix), blank: true}
	sp.mem.WriteString(prefix)
	return sp
}

// Write takes the next bytes of the body, which held holds: kept in
// memory, or written to the file and given back.
func (sp *spool) Write(p []byte) (int, error) {
	if sp.blank {
		sp.blank = len(bytes.TrimSpace(p)) == 0
	}
	if sp.file == nil && sp.overThreshold(len(p)) {
		if err := sp.toFile(); err != nil {
			return 0, err
		}
	}
	if sp.file == nil {
		return sp.mem.Write(p)
	}
	if err := sp.admit(int64(len(p))); err != nil {
		return 0, err
	}
	n, err := sp.file.Write(p)
	sp.size += int64(n)
	sp.held.give(n)
	if err != nil {
		return n, &spoolError{path: sp.file.Name(), err: err}
	}
	return n, nil
}

// overThreshold is whether n more bytes take the body in memory past
// Options.SpoolThreshold (never without a threshold and a directory).
func (sp *spool) overThreshold(n int) bool {
	o := sp.s.srv.opts
	return o.SpoolThreshold > 0 && o.SpoolDir != "" && int64(sp.mem.Len()-sp.prefix+n) > o.SpoolThreshold
}

// toFile moves what is in memory to a new file and gives its bytes back.
func (sp *spool) toFile() error {
	if err := sp.admit(int64(sp.mem.Len())); err != nil {
		return err
	}
	f, err := os.CreateTemp(sp.s.srv.opts.SpoolDir, "body-*") // 0600: a message is private
	if err != nil {
		return &spoolError{path: sp.s.srv.opts.SpoolDir, err: err}
	}
	sp.file = f
	n, err := f.Write(sp.mem.Bytes())
	sp.size = int64(n)
	if err != nil {
		return &spoolError{path: f.Name(), err: err}
	}
	sp.held.give(sp.mem.Len() - sp.prefix)
	sp.mem = bytes.Buffer{} // for the collector
	return nil
}

// admit asks the free-space guard for room for n more bytes in the file.
func (sp *spool) admit(n int64) error {
	for sp.size+n > sp.room {
		release, err := sp.s.srv.router.ReserveSpool(spoolRoomChunk)
		if err != nil {
			return errSpoolNoSpace
		}
		sp.admits = append(sp.admits, release)
		sp.room += spoolRoomChunk
	}
	return nil
}

// empty is whether the body (not the prefix) is only white space.
func (sp *spool) empty() bool { return sp.blank }

// spooled is the number of bytes in the file (0: all in memory).
func (sp *spool) spooled() int64 { return sp.size }

// received is the number of bytes of the body so far, in memory or file.
func (sp *spool) received() int64 {
	if sp.file != nil {
		return sp.size - int64(sp.prefix)
	}
	return int64(sp.mem.Len() - sp.prefix)
}

// message is the whole message, prefix and body, to be stored, with
// headroom free bytes before it for a header to be prepended without a
// copy (see prependTo). A spooled body is read back once held has taken
// storeCopies times its size of limits.inflight_message_bytes (within a
// declared SIZE=),
// waiting until ctx ends for room; the file is then removed. A declared
// size then gives way to the bytes held.
func (sp *spool) message(ctx context.Context, headroom int) (*heldMessage, error) {
	defer sp.held.settle()
	if sp.file == nil {
		return &heldMessage{buf: sp.mem.Bytes()}, nil
	}
	if err := sp.held.wait(ctx, storeCopies*sp.size); err != nil {
		return nil, errInTransit
	}
	buf := make([]byte, headroom+int(sp.size))
	if _, err := sp.file.ReadAt(buf[headroom:], 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, &spoolError{path: sp.file.Name(), err: err}
	}
	sp.close()
	return &heldMessage{buf: buf, off: headroom}, nil
}

// release gives back all the spool holds: its share of
// limits.inflight_message_bytes, its file and disk space.
func (sp *spool) release() {
	sp.held.release()
	sp.close()
}

// close removes the file, if any, and gives its disk space back. It may
// be called again.
func (sp *spool) close() {
	if sp.file != nil {
		sp.file.Close()
		if err := os.Remove(sp.file.Name()); err != nil {
			sp.s.log.Error("spool: can't remove a message's file", "path", sp.file.Name(), "err", err)
		}
		sp.file = nil
	}
	for _, release := range sp.admits {
		release()
	}
	sp.admits, sp.room = nil, 0
}

// heldMessage is a message in memory: buf[off:], with off bytes free
// before it.
type heldMessage struct {
	buf []byte
	off int
}

// bytes is the message.
func (m *heldMessage) bytes() []byte { return m.buf[m.off:] }

// prependTo is header followed by body, which is the message itself or a
// copy of it (msgauth.StripAuthResultsRaw): written into the free bytes
// before the message when header fits there and body is the message, a
// new buffer otherwise.
func (m *heldMessage) prependTo(header string, body []byte) []byte {
	msg := m.bytes()
	if len(header) <= m.off && len(body) == len(msg) && len(body) > 0 && &body[0] == &msg[0] {
		start := m.off - len(header)
		copy(m.buf[start:], header)
		return m.buf[start:]
	}
	out := make([]byte, 0, len(header)+len(body))
	out = append(out, header...)
	return append(out, body...)
}
