package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"mxdesk/store"
)

// AdminCRMEvent is one entry of GET /v1/crm: a CRM webhook event waiting
// in the outbox, or a dead letter.
type AdminCRMEvent struct {
	ID          uint64    `json:"id"`
	WebhookID   string    `json:"webhook_id"`
	Session     string    `json:"session"`
	Type        string    `json:"type"`
	Kind        string    `json:"kind,omitempty"`
	Created     time.Time `json:"created"`
	NextAttempt time.Time `json:"next_attempt"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	Dead        bool      `json:"dead"`
}

func adminCRMEvent(h store.Hook) AdminCRMEvent {
	return AdminCRMEvent{ID: h.ID, WebhookID: h.WebhookID, Session: h.Session, Type: h.Type, Kind: h.Kind, Created: h.Created,
		NextAttempt: h.NextAttempt, Attempts: h.Attempts, LastError: h.LastError, Dead: h.Dead}
}

func (a *adminAPI) crmRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/crm", a.listCRM)
	mux.HandleFunc("POST /v1/crm/{id}/retry", a.retryCRM)
	mux.HandleFunc("DELETE /v1/crm/{id}", a.dropCRM)
}

// listCRM is GET /v1/crm[?dead=1]: the outbox, oldest first; with dead=1
// only the dead letters.
func (a *adminAPI) listCRM(w http.ResponseWriter, req *http.Request) {
	list, err := a.r.Hooks(0)
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	deadOnly := req.URL.Query().Get("dead") == "1"
	out := []AdminCRMEvent{}
	for _, h := range list {
		if !deadOnly || h.Dead {
			out = append(out, adminCRMEvent(h))
		}
	}
	writeAdminJSON(w, out)
}

// retryCRM is POST /v1/crm/{id}/retry: the event is sent again now (a
// dead letter goes back into its session's line).
func (a *adminAPI) retryCRM(w http.ResponseWriter, req *http.Request) {
	id, ok := crmEventID(w, req)
	if !ok {
		return
	}
	h, err := a.r.RetryHook(req.Context(), id)
	if !a.answerError(w, req, err) {
		return
	}
	a.log.Info("crm event retried", "crm_event", id, "session", h.Session, "actor", adminActor(req), "via", "admin API")
	writeAdminJSON(w, adminCRMEvent(h))
}

// dropCRM is DELETE /v1/crm/{id}: the event leaves the outbox unsent.
func (a *adminAPI) dropCRM(w http.ResponseWriter, req *http.Request) {
	id, ok := crmEventID(w, req)
	if !ok {
		return
	}
	h, err := a.r.DropHook(req.Context(), id)
	if !a.answerError(w, req, err) {
		return
	}
	a.log.Info("crm event dropped", "crm_event", id, "session", h.Session, "type", h.Type, "actor", adminActor(req), "via", "admin API")
	writeAdminJSON(w, adminCRMEvent(h))
}

// crmEventID parses the request's {id}, answering 400 (ok false) when it
// is not an outbox ID.
func crmEventID(w http.ResponseWriter, req *http.Request) (uint64, bool) {
	s := req.PathValue("id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("CRM event ID %q: want a number, as mxdesk crm list shows", s))
		return 0, false
	}
	return id, true
}
