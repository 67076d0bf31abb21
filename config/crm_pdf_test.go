package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPDFFont: crm.pdf_font takes a TrueType file, relative to the
// configuration file; anything else is refused naming the key.
func TestPDFFont(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("good.ttf", []byte("\x00\x01\x00\x00 rest of a TrueType font"))
	write("cff.otf", []byte("OTTO rest"))
	write("set.ttc", []byte("ttcf rest"))
	write("text.ttf", []byte("hello"))
	parse := func(font string) (*Config, error) {
		return Parse([]byte(base+"\n[crm]\npdf_font = \""+font+"\"\n"), filepath.Join(dir, "mxdesk.toml"))
	}
	cfg, err := parse("good.ttf")
	if err != nil || cfg.CRM.PDFFont != filepath.Join(dir, "good.ttf") {
		t.Fatalf("good font: %v, path %q", err, cfg.CRM.PDFFont)
	}
	for font, want := range map[string]string{
		"cff.otf":     "CFF outlines",
		"set.ttc":     "font collection",
		"text.ttf":    "not a TrueType font",
		"missing.ttf": "cannot read",
	} {
		_, err := parse(font)
		var errs ValidationErrors
		if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "crm.pdf_font" || !strings.Contains(errs[0].Msg, want) {
			t.Errorf("%s: %v, want one crm.pdf_font error saying %q", font, err, want)
		}
	}
}
