package policy

import (
	"archive/zip"
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

const (
	mimeUnknown = "application/octet-stream" // mimetype's answer for unidentified bytes
	mimeText    = "text/plain"
)

// judged is one reading of what a part is: its content's type or the
// type its file name gives.
type judged struct {
	t    *fileType // nil for a type the table doesn't name
	mime string    // the MIME type it was judged by
	ext  string    // for a type the table doesn't name: its extension, if any
}

// primary is the MIME type families match.
func (j judged) primary() string {
	if j.t != nil {
		return j.t.mime
	}
	return j.mime
}

// mimes are the MIME types exact Allow and Block entries match.
func (j judged) mimes() []string {
	m := []string{j.mime}
	if j.t != nil {
		m = append(append(m, j.t.mime), j.t.mimes...)
	}
	return m
}

// label names the type in reasons and notes: "exe", or the MIME type.
func (j judged) label() string {
	switch {
	case j.t != nil:
		return j.t.name
	case j.ext != "":
		return j.ext
	}
	return j.mime
}

func (j judged) class() string {
	if j.t != nil {
		return j.t.class
	}
	return classDocument
}

// judgement is everything a part's type was judged by.
type judgement struct {
	sniffed  string   // content type, without parameters
	readings []judged // content first, then file names
}

// judge reads what a part is from its decoded content, its file names
// and its declared Content-Type:
//
//   - Content wins: when the content sniffs as a definite type (anything
//     but plain text or unidentified binary), that type is judged, whatever
//     the name and Content-Type say. A file name whose type shares the
//     content's signature refines it (a PE file named .dll is a dll).
//   - Every file name's extension that names a type is judged as well, and
//     the part is blocked if any reading is: the name decides what the
//     agent's computer does with the file (a PNG named .bat is run by cmd).
//   - Content that sniffs as plain text or unidentified binary is judged
//     by its names only; so a text file named .bat, .cmd, .ps1, .vbs or
//     .js is a script. Without a telling name, the declared Content-Type
//     decides; without that, unidentified binary with no extension is
//     "bin" and text is "txt".
func judge(content []byte, names []string, declared string) judgement {
	sniffed := sniff(content)
	var byName []judged
	hasExt := false
	for _, n := range names {
		e := extOf(n)
		hasExt = hasExt || e != ""
		if t := typeByExt[e]; t != nil {
			byName = append(byName, judged{t: t, mime: t.mime})
		}
	}
	var content1 judged
	switch {
	case sniffed != mimeText && sniffed != mimeUnknown:
		content1 = judged{t: typeByMIME[sniffed], mime: sniffed, ext: mimeExt(sniffed)}
		for _, n := range byName {
			if content1.t != nil && n.t != content1.t && n.t.has(sniffed) {
				content1.t = n.t
				break
			}
		}
	case len(byName) > 0:
		return judgement{sniffed: sniffed, readings: byName}
	case typeByMIME[declared] != nil && typeByMIME[declared].name != "bin" && typeByMIME[declared].name != "txt":
		content1 = judged{t: typeByMIME[declared], mime: declared}
	case sniffed == mimeUnknown && !hasExt:
		content1 = judged{t: typeByName["bin"], mime: sniffed}
	case sniffed == mimeUnknown:
		content1 = judged{mime: sniffed, ext: extOf(names[0])}
		for _, n := range names {
			if e := extOf(n); e != "" {
				content1.ext = e
				break
			}
		}
	default:
		content1 = judged{t: typeByName["txt"], mime: sniffed}
	}
	return judgement{sniffed: sniffed, readings: append([]judged{content1}, byName...)}
}

// blockedBy returns the first reading the rules block, if any.
func (jm judgement) blockedBy(rs *ruleSet) (judged, bool) {
	for _, j := range jm.readings {
		if rs.blocks(j) {
			return j, true
		}
	}
	return judged{}, false
}

// sniff returns the MIME type of content, without parameters. Beyond
// mimetype it knows the containers mimetype misses (disk images, old
// archive formats) and looks inside ZIP files for what they hold.
func sniff(content []byte) string {
	if m := sniffExtra(content); m != "" {
		return m
	}
	m := mimetype.Detect(content)
	mt := bareMIME(m.String())
	if isZipFamily(m) {
		return refineZip(content, mt)
	}
	if mt == mimeUnknown {
		if m := sniffWeak(content); m != "" {
			return m
		}
	}
	return mt
}

func bareMIME(s string) string {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(s))
	}
	return mt
}

// mimeExt is mimetype's extension for a MIME type, without the dot.
func mimeExt(mt string) string {
	if m := mimetype.Lookup(mt); m != nil {
		return strings.TrimPrefix(m.Extension(), ".")
	}
	return ""
}

// sniffExtra detects formats with a signature mimetype doesn't read.
func sniffExtra(b []byte) string {
	for _, off := range []int{0x8001, 0x8801, 0x9001} {
		if len(b) >= off+5 && string(b[off:off+5]) == "CD001" {
			return "application/x-iso9660-image"
		}
	}
	switch {
	case bytes.HasPrefix(b, []byte("vhdxfile")):
		return "application/x-vhdx"
	case bytes.HasPrefix(b, []byte("conectix")):
		return "application/x-vhd"
	case len(b) >= 512 && bytes.HasPrefix(b[len(b)-512:], []byte("conectix")):
		return "application/x-vhd"
	case len(b) >= 512 && bytes.HasPrefix(b[len(b)-512:], []byte("koly")):
		return "application/x-apple-diskimage"
	case len(b) >= 14 && string(b[7:14]) == "**ACE**":
		return "application/x-ace-compressed"
	}
	return ""
}

// sniffWeak detects formats with a two-byte signature, tried only on
// content mimetype can't identify.
func sniffWeak(b []byte) string {
	switch {
	case len(b) > 4 && b[0] == 0x60 && b[1] == 0xEA:
		return "application/x-arj"
	case len(b) > 2 && b[0] == 0x1F && b[1] == 0x9D:
		return "application/x-compress"
	case len(b) > 7 && string(b[2:4]) == "-l" && (b[4] == 'h' || b[4] == 'z') && strings.IndexByte("01234567ds", b[5]) >= 0 && b[6] == '-':
		return "application/x-lzh-compressed"
	}
	return ""
}

func isZipFamily(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("application/zip") {
			return true
		}
	}
	return false
}

// refineZip reads a ZIP file's directory to tell the formats built on
// ZIP apart (mimetype only sees its first few kilobytes): Java and
// Android packages first, then office documents, with macros or without.
// Otherwise mimetype's answer stands.
func refineZip(content []byte, sniffed string) string {
	zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return sniffed
	}
	names := map[string]*zip.File{}
	class := false
	for _, f := range zr.File {
		names[f.Name] = f
		class = class || strings.HasSuffix(f.Name, ".class")
	}
	has := func(n string) bool { return names[n] != nil }
	hasDir := func(d string) bool {
		for n := range names {
			if strings.HasPrefix(n, d) {
				return true
			}
		}
		return false
	}
	switch {
	case has("AndroidManifest.xml") && has("classes.dex"):
		return "application/vnd.android.package-archive"
	case has("META-INF/MANIFEST.MF") || class:
		return "application/java-archive"
	case has("mimetype"):
		if m := zipMimetype(names["mimetype"]); strings.HasPrefix(m, "application/vnd.oasis.opendocument.") || m == "application/epub+zip" {
			return m
		}
	case has("[Content_Types].xml"):
		for _, o := range []struct{ dir, doc, macro string }{
			{"word/", "docx", "docm"},
			{"xl/", "xlsx", "xlsm"},
			{"ppt/", "pptx", "pptm"},
		} {
			if hasDir(o.dir) {
				if has(o.dir + "vbaProject.bin") {
					return typeByName[o.macro].mime
				}
				return typeByName[o.doc].mime
			}
		}
	}
	return sniffed
}

// zipMimetype reads the "mimetype" entry of an OpenDocument or EPUB file.
func zipMimetype(f *zip.File) string {
	rc, err := f.Open()
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 100))
	return strings.ToLower(strings.TrimSpace(string(b)))
}

// extOf returns a file name's extension, lower-case, without the dot, as
// Windows reads it: the last path element, trailing dots and spaces
// ignored.
func extOf(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimRight(name, ". \t\r\n\x00")
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(name[i+1:]))
}
