package config

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// FieldError is one problem in a configuration file.
type FieldError struct {
	File string // file name as given to Parse or Load; may be empty
	Line int    // 1-based line in File, 0 when unknown
	Key  string // TOML key path, e.g. "agent[2].queues"; empty for syntax errors without a key
	Msg  string
}

// Error formats the problem as "file:line: key: message", leaving out the
// parts that are unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationErrors is every problem found in a configuration file. Load and
// Parse return it, never a single FieldError, so callers can list them all.
type ValidationErrors []*FieldError

// Error lists the problems one per line.
func (v ValidationErrors) Error() string {
	lines := make([]string, len(v))
	for i, e := range v {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// decodeError turns an error from toml.Decode into a FieldError. Syntax
// errors and failed UnmarshalText calls are toml.ParseError with a position;
// type mismatches are plain errors whose text carries line and key.
func decodeError(file string, data []byte, err error) *FieldError {
	fe := decodeErrorOf(file, data, err)
	if fe.Key == "send_only" && strings.Contains(fe.Msg, "expected table") {
		// The list form of earlier versions.
		fe.Msg = `write one table per address, [[send_only]] address = "noreply@...": the list form send_only = [...] is no longer read`
	}
	return fe
}

func decodeErrorOf(file string, data []byte, err error) *FieldError {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Usage != "" {
			// Usage is a multi-line tutorial; its first line is enough here.
			msg += " (" + strings.TrimSpace(strings.SplitN(strings.TrimSpace(pe.Usage), "\n", 2)[0]) + ")"
		}
		return &FieldError{File: file, Line: parseErrorLine(pe, data), Key: pe.LastKey, Msg: msg}
	}
	if m := typeErrRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Key: m[2], Msg: m[3]}
	}
	return &FieldError{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// typeErrRE matches the decoder's "incompatible types" errors, which the
// toml package builds with fmt.Errorf rather than as a ParseError.
var typeErrRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// parseErrorLine is the line of a syntax error. The toml lexer counts an
// unexpected end of line as part of the next line; the error is on the line
// that ended.
func parseErrorLine(pe toml.ParseError, data []byte) int {
	if s := pe.Position.Start; s > 0 && s < len(data) && data[s] == '\n' {
		return bytes.Count(data[:s], []byte("\n")) + 1
	}
	return pe.Position.Line
}
