package policy

import (
	"slices"
	"strings"
	"testing"
)

func TestJudge(t *testing.T) {
	text := func(s string) []byte { return []byte(s) }
	cases := []struct {
		name     string
		content  []byte
		names    []string
		declared string
		blocked  string // the type that blocks it, "" for allowed
		sniffed  string // when not "", the sniffed MIME type
	}{
		{"exe", samplePE(), []string{"invoice.exe"}, "application/x-msdownload", "exe", "application/vnd.microsoft.portable-executable"},
		{"exe named pdf", samplePE(), []string{"report.pdf"}, "application/pdf", "exe", ""},
		{"exe without name or type", samplePE(), nil, "", "exe", ""},
		{"exe named dll", samplePE(), []string{"x.dll"}, "application/octet-stream", "dll", ""},
		{"exe named scr", samplePE(), []string{"holiday.scr"}, "image/jpeg", "scr", ""},
		{"elf", sampleELF(), nil, "application/octet-stream", "elf", ""},
		{"elf named txt", sampleELF(), []string{"readme.txt"}, "text/plain", "elf", ""},
		{"zip", samplePlainZip(t), []string{"docs.zip"}, "application/zip", "zip", "application/zip"},
		{"zip named jpg", samplePlainZip(t), []string{"photo.jpg"}, "image/jpeg", "zip", ""},
		{"jar named zip", sampleJar(t), []string{"lib.zip"}, "application/zip", "jar", "application/java-archive"},
		{"jar named docx", sampleJar(t), []string{"cv.docx"}, "", "jar", ""},
		{"docx", sampleDocx(t, false), []string{"cv.docx"}, "application/octet-stream", "", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"docm", sampleDocx(t, true), []string{"cv.docm"}, "", "", "application/vnd.ms-word.document.macroenabled.12"},
		{"docx named zip", sampleDocx(t, false), []string{"cv.zip"}, "", "zip", ""},
		{"odt", sampleODT(t), []string{"letter.odt"}, "", "", "application/vnd.oasis.opendocument.text"},
		{"gzip named txt", sampleGzip(t), []string{"log.txt"}, "text/plain", "gz", "application/gzip"},
		{"tar.gz by name", sampleGzip(t), []string{"backup.tar.gz"}, "", "gz", ""},
		{"tar", sampleTar(t), []string{"files.tar"}, "", "tar", "application/x-tar"},
		{"iso", sampleISO(), []string{"setup.img2"}, "", "iso", "application/x-iso9660-image"},
		{"png", samplePNG(t), []string{"photo.png"}, "image/png", "", "image/png"},
		{"png declared octet-stream", samplePNG(t), nil, "application/octet-stream", "", ""},
		{"png named bat", samplePNG(t), []string{"photo.bat"}, "image/png", "bat", ""},
		{"jpeg without extension", sampleJPEG(t), []string{"IMG_0001"}, "", "", "image/jpeg"},
		{"jpeg upper-case name", sampleJPEG(t), []string{"IMG_0001.JPG"}, "image/jpeg", "", ""},
		{"gif", sampleGIF(t), []string{"smile.gif"}, "", "", "image/gif"},
		{"wav", sampleWAV(), []string{"voicemail.wav"}, "audio/wav", "", "audio/wav"},
		{"svg", sampleSVG(), []string{"logo.svg"}, "image/svg+xml", "svg", "image/svg+xml"},
		{"pdf", samplePDF(), []string{"invoice.pdf"}, "application/pdf", "", "application/pdf"},
		{"pdf named exe", samplePDF(), []string{"invoice.exe"}, "application/pdf", "exe", ""},
		{"pdf named exe with trailing dot and space", samplePDF(), []string{"invoice.exe. "}, "", "exe", ""},
		{"right-to-left override", samplePDF(), []string{"invoice\u202efdp.exe"}, "", "exe", ""},
		{"pdf with a second name", samplePDF(), []string{"invoice.pdf", "invoice.js"}, "", "js", ""},
		{"bat", text("@echo off\r\nformat c:\r\n"), []string{"run.bat"}, "text/plain", "bat", "text/plain"},
		{"cmd", text("@echo off\r\n"), []string{"run.cmd"}, "application/octet-stream", "cmd", ""},
		{"ps1", text("Invoke-WebRequest http://x\r\n"), []string{"a.ps1"}, "", "ps1", ""},
		{"vbs", text("MsgBox \"hi\"\r\n"), []string{"a.vbs"}, "text/plain", "vbs", ""},
		{"js", text("var x = 1;\r\n"), []string{"a.js"}, "text/plain", "js", ""},
		{"shell script by content", text("#!/bin/sh\nrm -rf /\n"), []string{"notes.txt"}, "text/plain", "sh", "text/x-shellscript"},
		{"text", text("hello\r\n"), []string{"notes.txt"}, "text/plain", "", "text/plain"},
		{"text declared as exe", text("hello\r\n"), nil, "application/x-msdownload", "exe", ""},
		{"text declared as zip", text("hello\r\n"), nil, "application/zip", "zip", ""},
		{"text declared as octet-stream", text("hello\r\n"), nil, "application/octet-stream", "", ""},
		{"text named with unknown extension", text("hello\r\n"), []string{"notes.xyz"}, "application/x-msdownload", "exe", ""},
		{"unknown binary", randomBinary(), nil, "application/octet-stream", "bin", "application/octet-stream"},
		{"unknown binary named bin", randomBinary(), []string{"firmware.bin"}, "", "bin", ""},
		{"unknown binary without extension", randomBinary(), []string{"data"}, "", "bin", ""},
		{"unknown binary with unknown extension", randomBinary(), []string{"drawing.xyz"}, "application/octet-stream", "", ""},
		{"empty", nil, []string{"empty.txt"}, "", "", ""},
	}
	rs := compile(DefaultRules())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jm := judge(c.content, c.names, c.declared)
			j, blocked := jm.blockedBy(&rs)
			got := ""
			if blocked {
				got = j.label()
			}
			if got != c.blocked {
				t.Errorf("blocked by %q, want %q (sniffed %s, readings %+v)", got, c.blocked, jm.sniffed, jm.readings)
			}
			if c.sniffed != "" && jm.sniffed != c.sniffed {
				t.Errorf("sniffed %q, want %q", jm.sniffed, c.sniffed)
			}
		})
	}
}

// randomBinary is content mimetype can't identify.
func randomBinary() []byte {
	b := randomBytes(512)
	copy(b, "\x00\x01\x02\x03\xfe\xfd")
	return b
}

func TestRulesPrecedence(t *testing.T) {
	cases := []struct {
		name         string
		allow, block []string
		content      []byte
		names        []string
		blocked      bool
	}{
		{"allow-list only", []string{"pdf"}, []string{"*/*"}, samplePDF(), []string{"a.pdf"}, false},
		{"allow-list blocks the rest", []string{"pdf"}, []string{"*/*"}, samplePNG(t), []string{"a.png"}, true},
		{"name beats family", []string{"svg"}, []string{"image/*"}, sampleSVG(), []string{"a.svg"}, false},
		{"family beats all", []string{"image/*"}, []string{"*"}, sampleGIF(t), []string{"a.gif"}, false},
		{"MIME type entry", nil, []string{"application/pdf"}, samplePDF(), []string{"a.pdf"}, true},
		{"MIME alias entry", nil, []string{"application/vnd.microsoft.portable-executable"}, samplePE(), nil, true},
		{"declared-style MIME entry matches sniffed", nil, []string{"application/x-msdownload"}, samplePE(), []string{"a.exe"}, true},
		{"extension as name", nil, []string{"jpg"}, sampleJPEG(t), nil, true},
		{"zip allowed when not blocked", nil, []string{"exe"}, samplePlainZip(t), []string{"a.zip"}, false},
		{"nothing listed", nil, nil, samplePE(), []string{"a.exe"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Rules{Allow: c.allow, Block: c.block}
			if err := r.Validate(); err != nil {
				t.Fatal(err)
			}
			_, blocked := judge(c.content, c.names, "").blockedBy(ptr(compile(r)))
			if blocked != c.blocked {
				t.Errorf("blocked = %v, want %v", blocked, c.blocked)
			}
		})
	}
}

func TestAmend(t *testing.T) {
	cases := []struct {
		allow, block []string
		content      []byte
		names        []string
		blocked      bool
	}{
		{[]string{"zip"}, nil, samplePlainZip(t), []string{"a.zip"}, false},
		{[]string{"ZIP"}, nil, sampleGzip(t), []string{"a.gz"}, true},
		{[]string{"application/zip"}, nil, samplePlainZip(t), []string{"a.zip"}, false},
		{[]string{"exe"}, nil, samplePE(), []string{"a.exe"}, false},
		{[]string{"exe"}, nil, samplePE(), []string{"a.dll"}, true},
		{nil, []string{"jpg"}, sampleJPEG(t), []string{"a.jpg"}, true},
		{nil, []string{"image/jpeg"}, sampleJPEG(t), []string{"a.jpg"}, true},
		{nil, []string{"jpg"}, samplePNG(t), []string{"a.png"}, false},
		{[]string{"image/*"}, nil, sampleSVG(), []string{"a.svg"}, false},
		{[]string{"svg"}, nil, sampleSVG(), []string{"a.svg"}, false},
		{nil, []string{"pdf"}, samplePDF(), []string{"a.pdf"}, true},
		{nil, []string{"*"}, samplePDF(), []string{"a.pdf"}, true},
		{nil, []string{"*"}, samplePNG(t), []string{"a.png"}, false}, // png stays allowed by name
	}
	for _, c := range cases {
		r := DefaultRules().Amend(c.allow, c.block)
		if err := r.Validate(); err != nil {
			t.Errorf("allow %q block %q: %v", c.allow, c.block, err)
		}
		if _, blocked := judge(c.content, c.names, "").blockedBy(ptr(compile(r))); blocked != c.blocked {
			t.Errorf("allow %q block %q: %v blocked = %v, want %v", c.allow, c.block, c.names, blocked, c.blocked)
		}
	}
	// Amend leaves the defaults alone.
	d := DefaultRules()
	d.Amend([]string{"zip"}, []string{"png"})
	if !slices.Contains(d.Block, "zip") || !slices.Contains(d.Allow, "png") {
		t.Error("Amend changed its receiver")
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("default rules: %v", err)
	}
	if err := (Rules{}).Validate(); err != nil {
		t.Fatalf("zero rules: %v", err)
	}
	if r := compile(Rules{}); r.MaxDepth != DefaultMaxDepth || r.MaxParts != DefaultMaxParts || r.MaxAttachments != 0 || r.MaxAttachmentBytes != DefaultMaxAttachmentBytes {
		t.Errorf("zero limits: %+v", r.Rules)
	}
	r := Rules{
		Allow:          []string{"zip", "exx", ".JPG", "image/*"},
		Block:          []string{"ZIP", "application/zip", "application/", "video/*/x", "x/*", "*/*", "text/plain; charset=x"},
		MaxAttachments: -1,
		MaxHeaderBytes: -5,
	}
	err := r.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`policy.allow: unknown type "exx"`,
		`type zip is both allowed and blocked`,
		`policy.block: "application/" is not a MIME type`,
		`policy.block: "video/*/x" is not a MIME`,
		`policy.block: "text/plain; charset=x" is not a MIME type`,
		`policy.max_attachments: must not be negative`,
		`policy.max_header_bytes: must not be negative`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"x/*"`) || strings.Contains(err.Error(), `".JPG"`) {
		t.Errorf("valid entries reported:\n%v", err)
	}
}

func TestDefaultRulesSPEC(t *testing.T) {
	rs := compile(DefaultRules())
	blocked := func(name string) bool {
		tp := lookupName(name)
		if tp == nil {
			t.Fatalf("unknown type %s", name)
		}
		return rs.blocks(judged{t: tp, mime: tp.mime})
	}
	for _, n := range []string{"exe", "dll", "bat", "scr", "bin", "zip", "rar", "msi", "com", "cmd", "ps1", "vbs", "js", "jar", "elf", "macho", "7z", "gz", "tar", "cab", "iso", "svg", "bmp", "heic", "m4a"} {
		if !blocked(n) {
			t.Errorf("%s allowed", n)
		}
	}
	for _, n := range []string{"jpeg", "png", "gif", "tiff", "raw", "nef", "webp", "mp4", "mov", "avi", "wmv", "webm", "mp3", "wav", "pdf", "docx", "xlsx", "odt", "txt", "html", "dwg"} {
		if blocked(n) {
			t.Errorf("%s blocked", n)
		}
	}
	// A document type the table doesn't name is allowed.
	if rs.blocks(judged{mime: "application/x-bittorrent"}) {
		t.Error("unnamed document type blocked")
	}
}

func TestTypeNames(t *testing.T) {
	names := TypeNames()
	if !slices.IsSorted(names) || !slices.Contains(names, "exe") || slices.Contains(names, "jpg") {
		t.Fatalf("TypeNames() = %q", names)
	}
	for _, n := range names {
		if err := (Rules{Block: []string{n}}).Validate(); err != nil {
			t.Error(err)
		}
	}
}

func TestExtOf(t *testing.T) {
	for in, want := range map[string]string{
		"a.EXE":             "exe",
		"a.exe.":            "exe",
		"a.exe .. ":         "exe",
		`C:\x\y.bat`:        "bat",
		"../../x.js":        "js",
		"archive.tar.gz":    "gz",
		"noext":             "",
		".bashrc":           "bashrc",
		"a.pdf\x00.exe":     "exe",
		"dir.d/file":        "",
		"\u202etxt.exe":     "exe",
		"report.pdf      .": "pdf",
	} {
		if got := extOf(in); got != want {
			t.Errorf("extOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileNames(t *testing.T) {
	cases := []struct {
		header string
		want   []string
	}{
		{"Content-Type: application/pdf; name=\"a.pdf\"\r\nContent-Disposition: attachment; filename=\"b.exe\"\r\n", []string{"b.exe", "a.pdf"}},
		{"Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.bat\r\n", []string{"café.bat"}},
		{"Content-Disposition: attachment; filename*0=\"inv\"; filename*1=\"oice.e\"; filename*2=\"xe\"\r\n", []string{"invoice.exe"}},
		{"Content-Disposition: attachment; filename=\"a.pdf\"; filename=\"a.exe\"\r\n", []string{"a.pdf", "a.exe"}},
		{"Content-Disposition: attachment; filename=\"unterminated.vbs\r\n", []string{"unterminated.vbs"}},
		{"Content-Disposition: attachment; filename==?utf-8?B?cmVjaG51bmcuZXhl?=\r\n", []string{"rechnung.exe"}},
		{"Content-Type: application/octet-stream; name=plain.js\r\n", []string{"plain.js"}},
	}
	for _, c := range cases {
		h := header(t, c.header)
		got := readPart(h).names
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: names %q lack %q", c.header, got, w)
			}
		}
	}
}

func ptr(rs ruleSet) *ruleSet { return &rs }
