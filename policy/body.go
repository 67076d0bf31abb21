package policy

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strconv"
)

// decode undoes a part's transfer encoding the way a forgiving mail
// client does, so that a part is judged by what the agent's client
// would make of it: base64 skips every character outside its alphabet,
// quoted-printable keeps malformed escapes as they are. Other encodings
// (7bit, 8bit, binary, unknown ones) are taken as they are.
func decode(cte string, body []byte) []byte {
	switch cte {
	case "base64":
		return decodeBase64(body)
	case "quoted-printable":
		return decodeQP(body)
	}
	return body
}

func decodeBase64(body []byte) []byte {
	clean := make([]byte, 0, len(body))
	for _, c := range body {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1] // a lone sixth of a byte
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, _ := base64.RawStdEncoding.Decode(out, clean)
	return out[:n]
}

func decodeQP(body []byte) []byte {
	out := make([]byte, 0, len(body))
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		rest := body[i+1:]
		switch {
		case len(rest) >= 2 && isHex(rest[0]) && isHex(rest[1]):
			out = append(out, unhex(rest[0])<<4|unhex(rest[1]))
			i += 2
		case bytes.HasPrefix(rest, []byte("\r\n")):
			i += 2 // soft line break
		case bytes.HasPrefix(rest, []byte("\n")):
			i++
		default:
			// A soft line break with trailing white space, or a stray "=".
			j := 0
			for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
				j++
			}
			if j > 0 && (bytes.HasPrefix(rest[j:], []byte("\r\n")) || bytes.HasPrefix(rest[j:], []byte("\n"))) {
				i += j + bytes.IndexByte(rest[j:], '\n') + 1
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// encode writes data in the transfer encoding cte (base64 and
// quoted-printable; anything else as is).
func encode(w *bytes.Buffer, cte string, data []byte) {
	switch cte {
	case "base64":
		s := base64.StdEncoding.EncodeToString(data)
		for len(s) > 76 {
			w.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		w.WriteString(s + "\r\n")
	case "quoted-printable":
		qw := quotedprintable.NewWriter(w)
		qw.Write(data)
		qw.Close()
	default:
		w.Write(data)
	}
}

// copyLimited copies at most 1 MiB: enough for any header value.
func copyLimited(w io.Writer, r io.Reader) (int64, error) {
	return io.Copy(w, io.LimitReader(r, 1<<20))
}

// headerSize counts the fields and bytes of the header at the start of
// b, blank line included, stopping once either passes its limit or at a
// line that is not a header field.
func headerSize(b []byte, maxFields, maxBytes int) (fields, size int) {
	for len(b) > 0 && fields <= maxFields && size <= maxBytes {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		size += len(line)
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			if bytes.IndexByte(line, ':') < 0 {
				break // not a field: the parser stops here too
			}
			fields++
		}
	}
	return fields, size
}

// nextDelimiter finds the next delimiter line of a multipart body at or
// after off, the way textproto's multipart reader finds it: "--boundary"
// at the start of a line. It returns where the part after it begins, or
// -1 at the closing delimiter or the end.
func nextDelimiter(body []byte, off int, dash []byte) int {
	for off < len(body) {
		i := bytes.Index(body[off:], dash)
		if i < 0 {
			return -1
		}
		at := off + i
		off = at + len(dash)
		if at > 0 && body[at-1] != '\n' {
			continue
		}
		switch n, kind := delimiterEnd(body[off:]); kind {
		case closeDelimiter:
			return -1
		case partDelimiter:
			return off + n
		}
	}
	return -1
}

const (
	notDelimiter = iota
	partDelimiter
	closeDelimiter
)

// delimiterEnd reads what follows "--boundary" at the start of a line:
// "--" for the closing delimiter, else optional white space and the end
// of the line. It returns the length of that rest, line end included.
func delimiterEnd(rest []byte) (int, int) {
	if bytes.HasPrefix(rest, []byte("--")) {
		return 2, closeDelimiter
	}
	j := 0
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
		j++
	}
	switch {
	case bytes.HasPrefix(rest[j:], []byte("\r\n")):
		return j + 2, partDelimiter
	case bytes.HasPrefix(rest[j:], []byte("\n")):
		return j + 1, partDelimiter
	}
	return 0, notDelimiter
}

// preamble returns what precedes a multipart body's first delimiter
// line (or its closing delimiter).
func preamble(body []byte, boundary string) []byte {
	dash := []byte("--" + boundary)
	for off := 0; off < len(body); {
		line := body[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i+1]
		}
		if bytes.HasPrefix(line, dash) {
			if _, kind := delimiterEnd(line[len(dash):]); kind != notDelimiter {
				return body[:off]
			}
		}
		off += len(line)
	}
	return nil
}

// formatBytes writes a size for people: "25 MiB".
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
