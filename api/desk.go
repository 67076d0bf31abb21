package api

import (
	"net/http"
	"strings"

	"mxdesk/router"
)

// Queues is GET /api/v1/queues: the supervisor page's queue lines (waiting
// counts, KPI alarms, sessions per status in Statuses order).
type Queues struct {
	Statuses []string `json:"statuses"`
	Queues   any      `json:"queues"`
}

func (a *API) listQueues(w http.ResponseWriter, req *http.Request, _ *call) {
	lines, err := a.queues()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, Queues{Statuses: router.Statuses, Queues: lines})
}

// Agent is one agent: state, presence and load.
type Agent struct {
	Login   string `json:"login"`
	Name    string `json:"name"`
	State   string `json:"state"`   // available, away or offline
	Present bool   `json:"present"` // has an IMAP connection
	Active  int    `json:"active"`  // sessions counting towards the load
}

// AgentState is the body of PUT /api/v1/agents/{login}/state.
type AgentState struct {
	State string `json:"state"` // away or available
}

func (a *API) agents() ([]Agent, error) {
	statuses, err := a.r.AgentStatuses()
	if err != nil {
		return nil, err
	}
	cfg := a.r.Config()
	out := make([]Agent, len(statuses))
	for i, st := range statuses {
		out[i] = Agent{Login: st.Login, State: st.State, Present: st.Present, Active: st.Active}
		if ac, ok := cfg.AgentByLogin(st.Login); ok {
			out[i].Name = ac.Name
		}
	}
	return out, nil
}

// listAgents is GET /api/v1/agents, in the configuration's order.
func (a *API) listAgents(w http.ResponseWriter, req *http.Request, _ *call) {
	list, err := a.agents()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// showAgent is GET /api/v1/agents/{login}.
func (a *API) showAgent(w http.ResponseWriter, req *http.Request, _ *call) {
	a.answerAgent(w, req, http.StatusOK)
}

func (a *API) answerAgent(w http.ResponseWriter, req *http.Request, status int) {
	list, err := a.agents()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	login := strings.ToLower(req.PathValue("login"))
	for _, ag := range list {
		if ag.Login == login {
			writeJSON(w, status, ag)
			return
		}
	}
	problem(w, http.StatusNotFound, "no agent "+login)
}

// setAgentState is PUT /api/v1/agents/{login}/state: away (no
// auto-assignment) or available, as the agent's Status folders do.
func (a *API) setAgentState(w http.ResponseWriter, req *http.Request, c *call) {
	var body AgentState
	if !decode(w, req, &body) {
		return
	}
	if body.State != router.StateAway && body.State != router.StateAvailable {
		invalidField(w, "state", "want \"away\" or \"available\"")
		return
	}
	login := strings.ToLower(req.PathValue("login"))
	if err := a.r.SetAway(req.Context(), login, body.State == router.StateAway); err != nil {
		a.routerError(w, req, err)
		return
	}
	a.log.Info("agent state set", "login", login, "state", body.State, "actor", c.agent.Login, "via", "API")
	a.answerAgent(w, req, http.StatusOK)
}
