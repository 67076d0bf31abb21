package imapserver

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/internal/imapwire"
)

// mxdesk: SORT (RFC 5256) and ESORT (RFC 5267) are not in upstream's
// server.

// SortKey is a SORT criterion's key (RFC 5256 3).
type SortKey string

const (
	SortKeyArrival SortKey = "ARRIVAL"
	SortKeyCc      SortKey = "CC"
	SortKeyDate    SortKey = "DATE"
	SortKeyFrom    SortKey = "FROM"
	SortKeySize    SortKey = "SIZE"
	SortKeySubject SortKey = "SUBJECT"
	SortKeyTo      SortKey = "TO"
)

// SortCriterion is one key of a SORT, REVERSE or not.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// SessionSort is an IMAP session which supports SORT. Sort returns the
// sequence numbers or UIDs (by kind) of the messages matching search, in
// the order of criteria.
type SessionSort interface {
	Session
	Sort(kind NumKind, criteria []SortCriterion, search *imap.SearchCriteria) ([]uint32, error)
}

func (c *Conn) handleSort(tag string, dec *imapwire.Decoder, numKind NumKind) error {
	if !dec.ExpectSP() {
		return dec.Err()
	}
	var (
		options  imap.SearchOptions
		extended bool
		atom     string
	)
	if maybeReadSearchKeyAtom(dec, &atom) {
		if !strings.EqualFold(atom, "RETURN") {
			return newClientBugError("SORT criteria must be a list")
		}
		if err := readSearchReturnOpts(dec, &options); err != nil {
			return fmt.Errorf("in sort-return-opts: %w", err)
		}
		if options.ReturnSave {
			return newClientBugError("SORT RETURN (SAVE) is not supported")
		}
		if !dec.ExpectSP() {
			return dec.Err()
		}
		extended = true
	}
	criteria, err := readSortCriteria(dec)
	if err != nil {
		return err
	}
	search, err := readCharsetAndSearchKeys(dec)
	if err != nil {
		return err
	}
	if err := c.checkState(imap.ConnStateSelected); err != nil {
		return err
	}
	session, ok := c.session.(SessionSort)
	if !ok {
		return newClientBugError("SORT is not supported")
	}
	nums, err := session.Sort(numKind, criteria, search)
	if err != nil {
		return err
	}
	if extended {
		return c.writeESort(tag, nums, &options, numKind)
	}
	return c.writeNumbers("SORT", nums)
}

func readSortCriteria(dec *imapwire.Decoder) ([]SortCriterion, error) {
	var criteria []SortCriterion
	reverse := false
	err := dec.ExpectList(func() error {
		var name string
		if !dec.ExpectAtom(&name) {
			return dec.Err()
		}
		key := SortKey(strings.ToUpper(name))
		switch key {
		case "REVERSE":
			if reverse {
				return newClientBugError("REVERSE REVERSE in SORT criteria")
			}
			reverse = true
			return nil
		case SortKeyArrival, SortKeyCc, SortKeyDate, SortKeyFrom, SortKeySize, SortKeySubject, SortKeyTo:
		default:
			return newClientBugError("Unknown SORT key " + strconv.Quote(name))
		}
		criteria = append(criteria, SortCriterion{Key: key, Reverse: reverse})
		reverse = false
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reverse || len(criteria) == 0 {
		return nil, newClientBugError("SORT criteria must end with a key")
	}
	return criteria, nil
}

// readCharsetAndSearchKeys reads " charset search-key..." to the CRLF
// (SORT and THREAD, RFC 5256: the charset is not optional there).
func readCharsetAndSearchKeys(dec *imapwire.Decoder) (*imap.SearchCriteria, error) {
	var charset string
	if !dec.ExpectSP() || !dec.ExpectAString(&charset) || !dec.ExpectSP() {
		return nil, dec.Err()
	}
	switch strings.ToUpper(charset) {
	case "US-ASCII", "UTF-8":
	default:
		return nil, &imap.Error{
			Type: imap.StatusResponseTypeNo,
			Code: imap.ResponseCodeBadCharset,
			Text: "Only US-ASCII and UTF-8 are supported charsets",
		}
	}
	var criteria imap.SearchCriteria
	for {
		if err := readSearchKey(&criteria, dec); err != nil {
			return nil, fmt.Errorf("in search-key: %w", err)
		}
		if !dec.SP() {
			break
		}
	}
	if !dec.ExpectCRLF() {
		return nil, dec.Err()
	}
	return &criteria, nil
}

// writeNumbers writes "* NAME n n n" (SORT, RFC 5256 4).
func (c *Conn) writeNumbers(name string, nums []uint32) error {
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom(name)
	for _, n := range nums {
		enc.SP().Number(n)
	}
	return enc.CRLF()
}

// writeESort answers SORT RETURN (RFC 5267 3.2): MIN and MAX are the first
// and last messages in sort order, ALL lists them in sort order.
func (c *Conn) writeESort(tag string, nums []uint32, options *imap.SearchOptions, numKind NumKind) error {
	if !options.ReturnMin && !options.ReturnMax && !options.ReturnAll && !options.ReturnCount {
		options.ReturnAll = true
	}
	enc := newResponseEncoder(c)
	defer enc.end()
	enc.Atom("*").SP().Atom("ESEARCH").SP().Special('(').Atom("TAG").SP().String(tag).Special(')')
	if numKind == NumKindUID {
		enc.SP().Atom("UID")
	}
	if len(nums) > 0 {
		if options.ReturnMin {
			enc.SP().Atom("MIN").SP().Number(nums[0])
		}
		if options.ReturnMax {
			enc.SP().Atom("MAX").SP().Number(nums[len(nums)-1])
		}
		if options.ReturnAll {
			enc.SP().Atom("ALL").SP().Atom(orderedSet(nums))
		}
	}
	if options.ReturnCount {
		enc.SP().Atom("COUNT").SP().Number(uint32(len(nums)))
	}
	return enc.CRLF()
}

// orderedSet writes nums as a sequence-set keeping their order: only runs
// ascending by one become ranges (RFC 5267 3.2: "5:7,3,1:2").
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(nums[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(nums[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}
