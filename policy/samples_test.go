package policy

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"mxdesk/testutil/clamdtest"
)

// Real, small sample files of each kind the tests judge.

// samplePE is a minimal Windows executable header: a DOS header whose
// e_lfanew points at a PE signature and COFF header.
func samplePE() []byte {
	b := make([]byte, 256)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3C:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], 0x8664) // x86-64
	return b
}

// sampleELF is a 64-bit little-endian ELF executable header.
func sampleELF() []byte {
	b := make([]byte, 64)
	copy(b, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(b[16:], 2) // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], 0x3E)
	return b
}

type zipEntry struct {
	name string
	data []byte
}

func sampleZip(t testing.TB, entries ...zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// sampleDocx is a Word document whose word/ entries come after 8 KiB of
// thumbnail, beyond what mimetype reads.
func sampleDocx(t testing.TB, macros bool) []byte {
	entries := []zipEntry{
		{"[Content_Types].xml", []byte(`<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`)},
		{"docProps/thumbnail.jpeg", randomBytes(8 << 10)},
		{"_rels/.rels", []byte(`<Relationships/>`)},
		{"word/document.xml", []byte(`<w:document/>`)},
	}
	if macros {
		entries = append(entries, zipEntry{"word/vbaProject.bin", randomBytes(64)})
	}
	return sampleZip(t, entries...)
}

func sampleODT(t testing.TB) []byte {
	return sampleZip(t, zipEntry{"mimetype", []byte("application/vnd.oasis.opendocument.text")}, zipEntry{"content.xml", []byte("<office:document-content/>")})
}

func sampleJar(t testing.TB) []byte {
	return sampleZip(t, zipEntry{"META-INF/MANIFEST.MF", []byte("Manifest-Version: 1.0\r\nMain-Class: Evil\r\n")}, zipEntry{"Evil.class", []byte("\xca\xfe\xba\xbe")})
}

func samplePlainZip(t testing.TB) []byte {
	return sampleZip(t, zipEntry{"invoice.exe", samplePE()})
}

func sampleImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 10, 10, 255})
	return img
}

func samplePNG(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, sampleImage()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleJPEG(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, sampleImage(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleGIF(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := gif.Encode(&buf, sampleImage(), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func samplePDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
}

func sampleGzip(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("hello"))
	zw.Close()
	return buf.Bytes()
}

func sampleTar(t testing.TB) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "run.sh", Mode: 0o755, Size: 5})
	tw.Write([]byte("hello"))
	tw.Close()
	return buf.Bytes()
}

// sampleWAV is a WAV header with a few silent samples.
func sampleWAV() []byte {
	var b bytes.Buffer
	data := make([]byte, 16)
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+len(data)))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)})
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// sampleISO has the ISO 9660 volume descriptor at 32 KiB.
func sampleISO() []byte {
	b := make([]byte, 0x8800)
	copy(b[0x8000:], "\x01CD001\x01")
	return b
}

func sampleSVG() []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>`)
}

// eicar is the EICAR antivirus test file, the one signature of the
// clamd that clamdtest starts.
func eicar() []byte { return clamdtest.EICAR() }

// A mimePart is one part of a test message.
type mimePart struct {
	header string // header lines, CRLF-terminated
	body   string
}

func (p mimePart) String() string { return p.header + "\r\n" + p.body }

// attachment is a base64 attachment part.
func attachment(ctype, filename string, data []byte) mimePart {
	h := fmt.Sprintf("Content-Type: %s\r\nContent-Transfer-Encoding: base64\r\n", ctype)
	if filename != "" {
		h = fmt.Sprintf("Content-Type: %s; name=%q\r\nContent-Disposition: attachment; filename=%q\r\nContent-Transfer-Encoding: base64\r\n", ctype, filename, filename)
	}
	return mimePart{header: h, body: wrap76(base64.StdEncoding.EncodeToString(data))}
}

func textPart(s string) mimePart {
	return mimePart{header: "Content-Type: text/plain; charset=utf-8\r\n", body: s}
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

// multipartBody joins parts with boundary.
func multipartBody(boundary string, parts ...mimePart) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p.String() + "\r\n")
	}
	return b.String() + "--" + boundary + "--\r\n"
}

func multipart(subtype, boundary string, parts ...mimePart) mimePart {
	return mimePart{
		header: fmt.Sprintf("Content-Type: multipart/%s; boundary=%q\r\n", subtype, boundary),
		body:   multipartBody(boundary, parts...),
	}
}

const testHeader = "From: Customer <c@example.net>\r\nTo: support@example.test\r\nSubject: my invoice\r\nMessage-ID: <1@example.net>\r\nMIME-Version: 1.0\r\n"

// testMessage makes a whole message of a top-level part.
func testMessage(p mimePart) []byte {
	return []byte(testHeader + p.String())
}
