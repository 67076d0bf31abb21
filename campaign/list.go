package campaign

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxListProblems bounds how many bad rows one upload reports.
const maxListProblems = 1000

// RowError is one bad row of a list, by its line in the file.
type RowError struct {
	Line int
	Msg  string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ListError is a list with bad rows: every one of them (up to
// maxListProblems), in file order. Nothing of such a list is stored.
type ListError struct{ Rows []RowError }

func (e *ListError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the list has %d bad rows:", len(e.Rows))
	for _, r := range e.Rows {
		b.WriteString("\n  " + r.Error())
	}
	return b.String()
}

// Row is one good row of a list.
type Row struct {
	Line   int
	Email  string
	Values []string // in header order
}

// listReader reads a campaign's list (UTF-8, RFC 4180, a header row with
// an email column) row by row, collecting what is wrong with each.
type listReader struct {
	r       *csv.Reader
	columns []string
	email   int            // index of the email column
	seen    map[string]int // lower-case address -> first line
	bad     []RowError
}

// newListReader reads the header row.
func newListReader(in io.Reader) (*listReader, error) {
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1 // counted here, so every bad row is reported
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &ListError{Rows: []RowError{{Line: 1, Msg: "the list is empty: want a header row naming the columns, one of them email"}}}
	}
	if err != nil {
		return nil, &ListError{Rows: []RowError{{Line: 1, Msg: csvProblem(err)}}}
	}
	lr := &listReader{r: r, seen: map[string]int{}, email: -1}
	if err := lr.readHeader(header); err != nil {
		return nil, err
	}
	return lr, nil
}

func (lr *listReader) readHeader(header []string) error {
	var bad []RowError
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case !utf8.ValidString(h):
			bad = append(bad, RowError{1, fmt.Sprintf("column %d: the name is not UTF-8", i+1)})
		case !validVarName(h):
			bad = append(bad, RowError{1, fmt.Sprintf("column %d: %q is not a usable name (letters, digits, _ and -)", i+1, h)})
		case slices.Contains(lr.columns, strings.ToLower(h)):
			bad = append(bad, RowError{1, fmt.Sprintf("column %q appears twice", h)})
		}
		lr.columns = append(lr.columns, strings.ToLower(h))
	}
	lr.email = slices.Index(lr.columns, "email")
	if lr.email < 0 {
		bad = append(bad, RowError{1, "no email column: the header row must name one column email"})
	}
	if len(bad) > 0 {
		return &ListError{Rows: bad}
	}
	return nil
}

// next returns the next good row; bad rows are collected and skipped.
// It returns io.EOF at the end.
func (lr *listReader) next() (Row, error) {
	for {
		rec, err := lr.r.Read()
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		line, _ := lr.r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return Row{}, err
			}
			lr.problem(pe.StartLine, csvProblem(err))
			continue
		}
		if row, ok := lr.check(line, rec); ok {
			return row, nil
		}
	}
}

func (lr *listReader) check(line int, rec []string) (Row, bool) {
	if len(rec) != len(lr.columns) {
		lr.problem(line, fmt.Sprintf("%d fields, the header has %d", len(rec), len(lr.columns)))
		return Row{}, false
	}
	for i, f := range rec {
		if !utf8.ValidString(f) {
			lr.problem(line, fmt.Sprintf("column %s is not valid UTF-8", lr.columns[i]))
			return Row{}, false
		}
	}
	addr := strings.TrimSpace(rec[lr.email])
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || a.Name != "" {
		lr.problem(line, fmt.Sprintf("email %q is not an address (want name@domain)", addr))
		return Row{}, false
	}
	key := strings.ToLower(addr)
	if first, dup := lr.seen[key]; dup {
		lr.problem(line, fmt.Sprintf("email %s is already on line %d", addr, first))
		return Row{}, false
	}
	lr.seen[key] = line
	vals := slices.Clone(rec)
	vals[lr.email] = addr
	return Row{Line: line, Email: addr, Values: vals}, true
}

func (lr *listReader) problem(line int, msg string) {
	if len(lr.bad) < maxListProblems {
		lr.bad = append(lr.bad, RowError{Line: line, Msg: msg})
	}
}

// err is the list's problems, or nil.
func (lr *listReader) err() error {
	if len(lr.bad) == 0 {
		return nil
	}
	return &ListError{Rows: lr.bad}
}

// csvProblem says what encoding/csv found, without its line prefix.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return "not RFC 4180 CSV: " + pe.Err.Error()
	}
	return err.Error()
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
