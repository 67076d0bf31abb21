package badgerstore

// A backup file is a header line, then badger's backup stream (DB.Backup:
// every key at one read timestamp) cut into frames, then a frame of
// length 0 and the SHA-256 of the stream. The header names the format so
// a later change is detected; the frames and the sum make a truncated or
// damaged file an error instead of a smaller store.
//
//	mxdesk-backup 1 badger/v4\n
//	{uint32 big-endian length, bytes}... uint32(0) sha256[32]

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
)

// BackupFormat is the version of the backup file format written.
const BackupFormat = 1

const (
	backupMagic  = "mxdesk-backup"
	backupEngine = "badger/v4"
	maxFrame     = 1 << 20
)

// ErrBadBackup is wrapped by every error about a backup file's content.
var ErrBadBackup = errors.New("not a complete mxdesk backup")

// Backup writes a consistent copy of the whole store to w: one snapshot,
// taken while the store keeps serving (badger's DB.Backup at one read
// timestamp).
func (s *Store) Backup(w io.Writer) error {
	out := bufio.NewWriterSize(w, 64<<10)
	if _, err := fmt.Fprintf(out, "%s %d %s\n", backupMagic, BackupFormat, backupEngine); err != nil {
		return err
	}
	fw := &frameWriter{w: out, sum: sha256.New()}
	buf := bufio.NewWriterSize(fw, maxFrame)
	if _, err := s.db.Backup(buf, 0); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := buf.Flush(); err != nil {
		return err
	}
	if err := fw.finish(); err != nil {
		return err
	}
	return out.Flush()
}

// frameWriter frames what is written to it and sums it.
type frameWriter struct {
	w   io.Writer
	sum hash.Hash
}

func (f *frameWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), maxFrame)
		var size [4]byte
		binary.BigEndian.PutUint32(size[:], uint32(n))
		if _, err := f.w.Write(size[:]); err != nil {
			return written, err
		}
		if _, err := f.w.Write(p[:n]); err != nil {
			return written, err
		}
		f.sum.Write(p[:n])
		written += n
		p = p[n:]
	}
	return written, nil
}

// finish writes the end frame and the sum.
func (f *frameWriter) finish() error {
	if _, err := f.w.Write([]byte{0, 0, 0, 0}); err != nil {
		return err
	}
	_, err := f.w.Write(f.sum.Sum(nil))
	return err
}

// frameReader returns the stream of a backup's frames and io.EOF at the
// end frame once the sum matches.
type frameReader struct {
	r    *bufio.Reader
	left uint32 // bytes left in the current frame
	sum  hash.Hash
	done bool
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	if f.left == 0 {
		if err := f.next(); err != nil {
			return 0, err
		}
		if f.done {
			return 0, io.EOF
		}
	}
	n, err := f.r.Read(p[:min(len(p), int(f.left))])
	f.left -= uint32(n)
	f.sum.Write(p[:n])
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%w: the file ends inside a frame (truncated)", ErrBadBackup)
	}
	return n, err
}

// next reads the next frame's length, or the end frame and the sum.
func (f *frameReader) next() error {
	var size [4]byte
	if _, err := io.ReadFull(f.r, size[:]); err != nil {
		return fmt.Errorf("%w: the file ends before its end mark (truncated): %v", ErrBadBackup, err)
	}
	f.left = binary.BigEndian.Uint32(size[:])
	if f.left > maxFrame {
		return fmt.Errorf("%w: frame of %d bytes (damaged)", ErrBadBackup, f.left)
	}
	if f.left > 0 {
		return nil
	}
	want := make([]byte, sha256.Size)
	if _, err := io.ReadFull(f.r, want); err != nil {
		return fmt.Errorf("%w: the checksum is missing (truncated): %v", ErrBadBackup, err)
	}
	if !bytes.Equal(want, f.sum.Sum(nil)) {
		return fmt.Errorf("%w: checksum mismatch (damaged)", ErrBadBackup)
	}
	if _, err := f.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data after the end mark", ErrBadBackup)
	}
	f.done = true
	return nil
}

// openBackup reads the header of a backup and returns its stream.
func openBackup(r io.Reader) (*frameReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	fields := strings.Fields(line)
	if len(fields) != 3 || fields[0] != backupMagic {
		return nil, fmt.Errorf("%w: no %q header", ErrBadBackup, backupMagic)
	}
	if fields[1] != fmt.Sprint(BackupFormat) || fields[2] != backupEngine {
		return nil, fmt.Errorf("%w: format %s %s, this mxdesk reads format %d %s (restore it with the mxdesk version that made it)",
			ErrBadBackup, fields[1], fields[2], BackupFormat, backupEngine)
	}
	return &frameReader{r: br, sum: sha256.New()}, nil
}

// VerifyBackup reads a whole backup and reports whether it is complete
// and undamaged.
func VerifyBackup(r io.Reader) error {
	fr, err := openBackup(r)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, fr)
	return err
}

// Restore creates the store in dir from a backup. dir must not exist or
// be empty. On an error the caller should remove dir: it holds a part.
func Restore(dir string, opts Options, r io.Reader) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("store directory %s is not empty: restore only into a new data_dir", dir)
	}
	fr, err := openBackup(r)
	if err != nil {
		return err
	}
	s, err := Open(dir, opts)
	if err != nil {
		return err
	}
	if err := s.db.Load(fr, 256); err != nil {
		// A failed Load leaves badger's read watermark behind: a check
		// would wait for ever, and the part is removed anyway.
		s.checkOnClose = false
		s.Close()
		return fmt.Errorf("restore into %s: %w", dir, err)
	}
	return s.Close()
}
