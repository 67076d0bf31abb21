package config

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// CRM is the CRM feed (SPEC §11): one ticket per session, fed through a
// signed webhook. The keys of the issue that built it are fixed: tests
// outside the project rely on them.
type CRM struct {
	URL        string `toml:"url"`         // empty: the CRM feed is off
	SecretFile string `toml:"secret_file"` // one line: whsec_<base64>
	Inbound    *bool  `toml:"inbound"`     // default true: tickets for new inbound sessions
	Outbound   *bool  `toml:"outbound"`    // default true: tickets for sessions an agent starts
	Content    string `toml:"content"`     // "session_end" (default) | "each_reply" | "off"
	PDF        string `toml:"pdf"`         // "session_end" (default) | "each_reply" | "off"
	Metadata   bool   `toml:"metadata"`
	// LinkBaseURL is where CRM users reach mxdesk's [listen] http
	// ("https://desk.example.com"): the start of every message link.
	LinkBaseURL string `toml:"link_base_url"`
	// LinkTTL is how long a message link stays valid (default 30 days).
	LinkTTL Duration `toml:"link_ttl"`

	// PDFFont is a TrueType font file the PDF transcripts use instead of
	// the built-in Go fonts (crm_pdf.go); "": the Go fonts.
	PDFFont string `toml:"pdf_font"`
}

// ReadCRMSecret reads the Standard Webhooks secret in path
// (crm.secret_file): one line "whsec_<base64>", returned decoded.
func ReadCRMSecret(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crm.secret_file: %w", err)
	}
	line := strings.TrimSpace(string(data))
	encoded, ok := strings.CutPrefix(line, "whsec_")
	if !ok {
		return nil, fmt.Errorf("crm.secret_file %s: the secret must start with whsec_", path)
	}
	secret, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, fmt.Errorf("crm.secret_file %s: the secret after whsec_ is not base64", path)
	}
	if len(secret) < 24 || len(secret) > 64 {
		return nil, fmt.Errorf("crm.secret_file %s: the secret must decode to 24 to 64 bytes, not %d", path, len(secret))
	}
	return secret, nil
}
