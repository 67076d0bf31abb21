package config

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// keyIndex knows, for every key in the file, its path with array-of-tables
// indexes ("agent[1].login") and the line that defines it. The toml package
// keeps key positions to itself, so lines come from a forward scan of the
// text guided by MetaData.Keys, which lists the keys in file order. When the
// scan cannot follow (arrays of inline tables, a key it cannot find), it
// stops giving lines rather than guess.
type keyIndex struct {
	paths []string       // indexed path of md.Keys()[i]
	lines map[string]int // indexed path → 1-based line
}

func indexKeys(md *toml.MetaData, data []byte) *keyIndex {
	ix := &keyIndex{lines: map[string]int{}}
	text := maskLines(string(data))
	counts := map[string]int{} // array-of-tables key → elements seen so far
	line, col, lost := 0, 0, false
	for _, k := range md.Keys() {
		if md.Type(k...) == "ArrayHash" {
			countElement(counts, k.String())
		}
		path, exact := indexedPath(md, k, counts)
		ix.paths = append(ix.paths, path)
		if lost = lost || !exact; lost {
			continue
		}
		l, c, ok := findKey(text, line, col, k[len(k)-1])
		if !ok {
			lost = true
			continue
		}
		line, col = l, c
		ix.lines[path] = l + 1
	}
	return ix
}

// countElement records one more [[key]] and restarts the counts of arrays of
// tables nested in it, which number from 0 in every element.
func countElement(counts map[string]int, key string) {
	counts[key]++
	for k := range counts {
		if strings.HasPrefix(k, key+".") {
			delete(counts, k)
		}
	}
}

// indexedPath returns k with "[i]" after each array-of-tables component.
// exact is false inside an array of inline tables, whose elements the
// metadata does not separate.
func indexedPath(md *toml.MetaData, k toml.Key, counts map[string]int) (path string, exact bool) {
	var b strings.Builder
	exact = true
	for i := range k {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(toml.Key{k[i]}.String())
		switch md.Type(k[:i+1]...) {
		case "ArrayHash":
			fmt.Fprintf(&b, "[%d]", counts[k[:i+1].String()]-1)
		case "Array":
			exact = exact && i == len(k)-1
		}
	}
	return b.String(), exact
}

// line returns the line of path, or of its nearest ancestor in the file (a
// missing agent[2].password_hash points at the [[agent]] header), or 0.
func (ix *keyIndex) line(path string) int {
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := ix.lines[p]; ok {
			return l
		}
	}
	return 0
}

// parentPath strips the last ".key" or "[i]" from path.
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// keyPart is one component of a dotted key as written in the file.
const keyPart = `(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')\s*\.\s*`

// findKey finds where name is defined as a key or table header, starting at
// line, col. A key or header may start a line; after col 0 of a line only a
// key inside an inline table can follow.
func findKey(lines []string, line, col int, name string) (int, int, bool) {
	n := keyName(name)
	head := regexp.MustCompile(`^\s*(?:\[\[?\s*)?(?:` + keyPart + `)*` + n + `\s*(?:=|\])`)
	inline := regexp.MustCompile(`[{,]\s*(?:` + keyPart + `)*` + n + `\s*=`)
	for i := line; i < len(lines); i++ {
		from := 0
		if i == line {
			from = col
		}
		if from == 0 {
			if m := head.FindStringIndex(lines[i]); m != nil {
				return i, m[1], true
			}
		}
		if from > len(lines[i]) {
			continue
		}
		if m := inline.FindStringIndex(lines[i][from:]); m != nil {
			return i, from + m[1], true
		}
	}
	return 0, 0, false
}

// keyName is a regexp for name written bare, "quoted" or 'literal'.
func keyName(name string) string {
	alts := []string{regexp.QuoteMeta(maskString(toml.Key{name}.String())), `'` + regexp.QuoteMeta(maskString(name)) + `'`}
	if !strings.HasPrefix(alts[0], `"`) {
		alts = append(alts, `"`+regexp.QuoteMeta(maskString(name))+`"`)
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}

// maskLines splits a TOML document into lines with comments removed and the
// characters that structure TOML ({ , = # [ ]) hidden inside strings, so a
// scan for keys cannot match text inside a value or a comment.
func maskLines(doc string) []string {
	lines := strings.Split(doc, "\n")
	var st lexState
	for i, l := range lines {
		lines[i] = st.maskLine(l)
	}
	return lines
}

// lexState is where a line starts: outside strings or in a multi-line one.
type lexState struct{ delim string }

func (st *lexState) maskLine(l string) string {
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case st.delim == "" && c == '#':
			return b.String()
		case st.delim == "" && (c == '"' || c == '\''):
			st.delim = string(c)
			if strings.HasPrefix(l[i:], strings.Repeat(string(c), 3)) {
				st.delim = strings.Repeat(string(c), 3)
			}
			b.WriteString(st.delim)
			i += len(st.delim) - 1
		case st.delim == "":
			b.WriteByte(c)
		case c == '\\' && st.delim[0] == '"' && i+1 < len(l):
			b.WriteString("__")
			i++
		case strings.HasPrefix(l[i:], st.delim):
			b.WriteString(st.delim)
			i += len(st.delim) - 1
			st.delim = ""
		case strings.IndexByte(structural, c) >= 0:
			b.WriteByte('_')
		default:
			b.WriteByte(c)
		}
	}
	if len(st.delim) == 1 {
		st.delim = "" // unterminated single-line string: the parser rejected it
	}
	return b.String()
}

// structural are the bytes maskLines hides inside strings.
const structural = "{,=#[]"

func maskString(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && strings.IndexByte(structural, byte(r)) >= 0 {
			return '_'
		}
		return r
	}, s)
}
