package gateway

import (
	"net/http"
	"time"

	"mxdesk/msglink"
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
