package api

import (
	"net/http"
	"strings"

	"mxdesk/router"
	"mxdesk/store"
)

// The routes that change a session. Each is one router.Act call as the
// token's synthetic supervisor (api:<name>): the rules of the folder
// gestures and email commands apply, and IMAP clients see the change.

// Assign is the body of POST /api/v1/sessions/{id}/assign.
type Assign struct {
	Agent string `json:"agent"` // an agent's login
}

// Transfer is the body of POST /api/v1/sessions/{id}/transfer.
type Transfer struct {
	To   string `json:"to"`             // a queue's name or address, or an agent's login
	Note string `json:"note,omitempty"` // an internal note filed with the transfer
}

// StatusChange is the body of POST /api/v1/sessions/{id}/status.
type StatusChange struct {
	Status string `json:"status"` // resolved, paused or closed
}

// Note is the body of POST /api/v1/sessions/{id}/notes.
type Note struct {
	Text string `json:"text"`
}

func (a *API) actionRoutes(mux *http.ServeMux) {
	a.handle(mux, "POST /sessions/{id}/assign", router.RoleSupervisor, a.assign)
	a.handle(mux, "POST /sessions/{id}/transfer", router.RoleSupervisor, a.transfer)
	a.handle(mux, "POST /sessions/{id}/status", router.RoleSupervisor, a.setStatus)
	a.handle(mux, "POST /sessions/{id}/notes", router.RoleIntegrator, a.addNote)
	a.replyRoutes(mux)
}

func (a *API) assign(w http.ResponseWriter, req *http.Request, c *call) {
	var body Assign
	if decode(w, req, &body) {
		a.act(w, req, c, "agent", router.Action{Kind: router.ActAssign, Arg: body.Agent})
	}
}

func (a *API) transfer(w http.ResponseWriter, req *http.Request, c *call) {
	var body Transfer
	if !decode(w, req, &body) {
		return
	}
	acts := []router.Action{{Kind: router.ActTransfer, Arg: body.To}}
	if strings.TrimSpace(body.Note) != "" {
		// The note first: it is filed where the session is before it
		// moves, and moves with it.
		acts = []router.Action{{Kind: router.ActNote, Arg: body.Note}, acts[0]}
	}
	a.act(w, req, c, "to", acts...)
}

// statusActions maps the statuses one may set to their actions.
var statusActions = map[string]string{"resolved": router.ActResolve, "paused": router.ActPause, "closed": router.ActClose}

func (a *API) setStatus(w http.ResponseWriter, req *http.Request, c *call) {
	var body StatusChange
	if !decode(w, req, &body) {
		return
	}
	kind, ok := statusActions[strings.ToLower(body.Status)]
	if !ok {
		invalidField(w, "status", "want \"resolved\", \"paused\" or \"closed\"")
		return
	}
	a.act(w, req, c, "status", router.Action{Kind: kind})
}

func (a *API) addNote(w http.ResponseWriter, req *http.Request, c *call) {
	var body Note
	if decode(w, req, &body) {
		a.act(w, req, c, "text", router.Action{Kind: router.ActNote, Arg: body.Text})
	}
}

// act applies acts to the request's session and answers the session as
// it is afterwards; a refused action is a problem (422 naming field when
// its argument is invalid).
func (a *API) act(w http.ResponseWriter, req *http.Request, c *call, field string, acts ...router.Action) {
	id := req.PathValue("id")
	err := a.r.Act(req.Context(), c.agent, id, acts...)
	if err != nil {
		a.actionError(w, req, field, err)
		return
	}
	var s store.Session
	err = a.r.View(func(rd store.Reader) (err error) {
		s, err = rd.Session(id)
		return err
	})
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	for _, act := range acts {
		a.log.Info("session action", "session", id, "action", act.Kind, "actor", c.agent.Login, "via", "API")
	}
	writeJSON(w, http.StatusOK, apiSession(s))
}

func (a *API) actionError(w http.ResponseWriter, req *http.Request, field string, err error) {
	switch router.KindOf(err) {
	case router.KindInvalid:
		invalidField(w, field, err.Error())
	case router.KindForbidden: // a desk rule, for a supervisor: the session's state or queue forbids it
		problem(w, http.StatusConflict, err.Error())
	default:
		a.routerError(w, req, err)
	}
}
