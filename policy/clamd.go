package policy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// A Scanner scans content for viruses. An error means the content was
// not scanned.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) (Verdict, error)
}

// Verdict is a scanner's answer.
type Verdict struct {
	Infected  bool
	Signature string // what was found: "Eicar-Test-Signature"
}

// Clamd is a client of the ClamAV daemon: it streams content with
// zINSTREAM and asks zPING. It holds no connection between calls and is
// safe for concurrent use.
type Clamd struct {
	// StreamMaxLength is clamd's limit of the same name (25 MiB by
	// default): Scan stops streaming past it and returns ErrScanTooLarge
	// rather than have clamd drop the connection.
	StreamMaxLength int64

	addr    string
	timeout time.Duration
}

var _ Scanner = (*Clamd)(nil)

// DefaultStreamMaxLength is clamd's default StreamMaxLength (25M).
const DefaultStreamMaxLength = 25 << 20

// chunkSize is the size of the chunks Scan streams.
const chunkSize = 64 << 10

// NewClamd returns a client for the clamd at addr, "unix:/path/clamd.ctl"
// or "tcp:host:port". timeout bounds each call (connection, streaming
// and answer); 0 means one minute.
func NewClamd(addr string, timeout time.Duration) *Clamd {
	if timeout <= 0 {
		timeout = time.Minute
	}
	return &Clamd{StreamMaxLength: DefaultStreamMaxLength, addr: addr, timeout: timeout}
}

// ParseClamdAddr checks a clamd address ("unix:/path" or
// "tcp:host:port") and returns its network and address for net.Dial.
func ParseClamdAddr(addr string) (network, address string, err error) {
	network, address, ok := strings.Cut(addr, ":")
	switch {
	case !ok || address == "":
	case network == "unix" && strings.HasPrefix(address, "/"):
		return network, address, nil
	case network == "tcp":
		if _, port, err := net.SplitHostPort(address); err == nil && port != "" {
			return network, address, nil
		}
	}
	return "", "", fmt.Errorf("clamd address %q: want \"unix:/path/to/clamd.ctl\" or \"tcp:host:port\"", addr)
}

// Ping checks that clamd answers.
func (c *Clamd) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return c.unavailable("ping", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return c.unavailable("ping", err)
	}
	if reply != "PONG" {
		return c.unavailable("ping", fmt.Errorf("unexpected answer %q", reply))
	}
	return nil
}

// Scan streams r to clamd. Errors wrap ErrScanUnavailable (clamd down,
// timed out, or answering an error) or ErrScanTooLarge (r is longer
// than StreamMaxLength).
func (c *Clamd) Scan(ctx context.Context, r io.Reader) (Verdict, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return Verdict{}, err
	}
	defer conn.Close()
	sendErr := c.stream(conn, r)
	if errors.Is(sendErr, ErrScanTooLarge) {
		return Verdict{}, sendErr
	}
	// clamd answers before closing even when it stops reading (its own
	// size limit): read the answer whatever happened to the stream.
	reply, err := readReply(conn)
	if err != nil {
		if sendErr != nil {
			err = sendErr
		}
		return Verdict{}, c.unavailable("scan", err)
	}
	return c.verdict(reply)
}

// stream writes zINSTREAM, r in chunks, and the zero-length chunk that
// ends it.
func (c *Clamd) stream(conn net.Conn, r io.Reader) error {
	w := bufio.NewWriterSize(conn, chunkSize+4)
	w.WriteString("zINSTREAM\x00")
	buf := make([]byte, chunkSize)
	var sent int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if max := c.StreamMaxLength; max > 0 && sent+int64(n) > max {
				return fmt.Errorf("%w: more than %d bytes (clamd StreamMaxLength)", ErrScanTooLarge, max)
			}
			var size [4]byte
			binary.BigEndian.PutUint32(size[:], uint32(n))
			w.Write(size[:])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			sent += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read content: %w", err)
		}
	}
	w.Write([]byte{0, 0, 0, 0})
	return w.Flush()
}

// verdict reads clamd's answer to zINSTREAM: "stream: OK",
// "stream: <signature> FOUND", "<message> ERROR".
func (c *Clamd) verdict(reply string) (Verdict, error) {
	switch {
	case strings.HasSuffix(reply, " FOUND"):
		sig := strings.TrimSuffix(strings.TrimPrefix(reply, "stream: "), " FOUND")
		return Verdict{Infected: true, Signature: sig}, nil
	case reply == "stream: OK":
		return Verdict{}, nil
	case strings.Contains(reply, "size limit exceeded"):
		return Verdict{}, fmt.Errorf("%w: clamd: %s (clamd StreamMaxLength)", ErrScanTooLarge, reply)
	}
	return Verdict{}, c.unavailable("scan", fmt.Errorf("clamd answered %q", reply))
}

// dial connects to clamd with a deadline: the call's timeout or the
// context's, the sooner; the context's end also cuts the connection.
func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	network, address, err := ParseClamdAddr(c.addr)
	if err != nil {
		return nil, c.unavailable("connect", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		cancel()
		return nil, c.unavailable("connect", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &clamdConn{Conn: conn, done: func() { stop(); cancel() }}, nil
}

func (c *Clamd) unavailable(op string, err error) error {
	return fmt.Errorf("%w: clamd %s %s: %w", ErrScanUnavailable, op, c.addr, err)
}

// clamdConn releases its context when closed.
type clamdConn struct {
	net.Conn
	done func()
}

func (c *clamdConn) Close() error {
	c.done()
	return c.Conn.Close()
}

// readReply reads one NUL-terminated answer (at most 4 KiB).
func readReply(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(&untilNUL{r: r}, 4096))
	if err != nil {
		return "", err
	}
	if !bytes.HasSuffix(b, []byte{0}) {
		if len(b) == 0 {
			return "", io.ErrUnexpectedEOF
		}
		return "", fmt.Errorf("answer %q not terminated", b)
	}
	return strings.TrimSpace(string(b[:len(b)-1])), nil
}

// untilNUL reads byte by byte up to and including a NUL.
type untilNUL struct {
	r    io.Reader
	done bool
}

func (u *untilNUL) Read(p []byte) (int, error) {
	if u.done {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := u.r.Read(p[:1])
	if n == 1 && p[0] == 0 {
		u.done = true
	}
	return n, err
}
