package gateway

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"mxdesk/config"
	"mxdesk/msglink"
	"mxdesk/transcript"
)

// messageLinks is the signer of the CRM feed's message links, nil when the
// feed is off (crm.url empty). Its key comes from crm.secret_file, so the
// links every node makes open on every node.
func messageLinks(g *Gateway, now func() time.Time) (*msglink.Signer, error) {
	if g.cfg.CRM.URL == "" {
		return nil, nil
	}
	return msglink.ForCRM(g.cfg.CRM, now)
}

// registerMessageLinks serves the message pages (msglink.Path) on
// [listen] http while the CRM feed is on.
func (g *Gateway) registerMessageLinks(mux *http.ServeMux) {
	if g.links == nil {
		return
	}
	mux.Handle("GET "+msglink.Path, msglink.HandlerLog(g.store, g.links, g.log))
}

// loadPDFFont gives the PDF transcripts the font of crm.pdf_font (checked
// by config), or the built-in Go fonts when it is empty.
func loadPDFFont(cfg *config.Config) error {
	path := cfg.CRM.PDFFont
	if path == "" {
		return transcript.SetPDFFont(nil)
	}
	ttf, err := os.ReadFile(path)
	if err == nil {
		err = transcript.SetPDFFont(ttf)
	}
	if err != nil {
		return fmt.Errorf("crm.pdf_font %s: %w", path, err)
	}
	return nil
}
