package config

import (
	"bytes"
	"os"
	"path/filepath"
)

// checkPDFFont checks crm.pdf_font: a TrueType font file the PDF
// transcripts can embed (for scripts the built-in Go fonts lack: CJK,
// Arabic, Hebrew). A relative path is taken from the configuration
// file's directory, and is made absolute here.
func (p *parser) checkPDFFont() {
	path := p.cfg.CRM.PDFFont
	if path == "" {
		return
	}
	if !filepath.IsAbs(path) && p.file != "" {
		path = filepath.Join(filepath.Dir(p.file), path)
	}
	p.cfg.CRM.PDFFont = path
	data, err := os.ReadFile(path)
	if err != nil {
		p.errorf("crm.pdf_font", "cannot read: %v", err)
		return
	}
	switch {
	case bytes.HasPrefix(data, []byte("OTTO")):
		p.errorf("crm.pdf_font", "%s is an OpenType font with CFF outlines: the PDF transcript embeds TrueType (.ttf, glyf outlines) fonts only, e.g. IPA Gothic (Debian fonts-ipafont-gothic) for Japanese", path)
	case bytes.HasPrefix(data, []byte("ttcf")):
		p.errorf("crm.pdf_font", "%s is a font collection (.ttc): name a single TrueType font (.ttf)", path)
	case !bytes.HasPrefix(data, []byte{0, 1, 0, 0}) && !bytes.HasPrefix(data, []byte("true")):
		p.errorf("crm.pdf_font", "%s is not a TrueType font (.ttf)", path)
	}
}
