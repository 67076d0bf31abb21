package api

import (
	"net/http"
	"slices"
	"time"

	"mxdesk/router"
	"mxdesk/store"
)

// Token is an API token as the API shows it: never its secret, except
// once in NewToken's answer.
type Token struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
	Token   string    `json:"token,omitempty"` // the secret: only when created
}

// NewToken is the body of POST /api/v1/tokens.
type NewToken struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires,omitzero"`
}

func apiToken(t store.APIToken) Token {
	return Token{Name: t.Name, Role: t.Role, Created: t.Created, Expires: t.Expires}
}

func (a *API) tokenRoutes(mux *http.ServeMux) {
	a.handle(mux, "GET /tokens", router.RoleAdmin, a.listTokens)
	a.handle(mux, "POST /tokens", router.RoleAdmin, a.createToken)
	a.handle(mux, "DELETE /tokens/{name}", router.RoleAdmin, a.revokeToken)
}

func (a *API) listTokens(w http.ResponseWriter, req *http.Request, _ *call) {
	list, err := a.r.APITokens()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := make([]Token, len(list))
	for i, t := range list {
		out[i] = apiToken(t)
	}
	writeJSON(w, http.StatusOK, out)
}

// createToken is POST /api/v1/tokens, as mxdesk token create.
func (a *API) createToken(w http.ResponseWriter, req *http.Request, c *call) {
	var body NewToken
	if !decode(w, req, &body) {
		return
	}
	if !slices.Contains(router.APIRoles, body.Role) {
		invalidField(w, "role", "want integrator, supervisor or admin")
		return
	}
	secret, tok, err := a.r.CreateAPIToken(req.Context(), body.Name, body.Role, body.Expires)
	if router.KindOf(err) == router.KindInvalid { // the role is right: the name is not
		invalidField(w, "name", err.Error())
		return
	}
	if err != nil {
		a.routerError(w, req, err)
		return
	}
	a.log.Info("api token created", "token", tok.Name, "role", tok.Role, "actor", c.agent.Login, "via", "API")
	out := apiToken(tok)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
}

// revokeToken is DELETE /api/v1/tokens/{name}, as mxdesk token revoke.
func (a *API) revokeToken(w http.ResponseWriter, req *http.Request, c *call) {
	name := req.PathValue("name")
	if err := a.r.RevokeAPIToken(req.Context(), name); err != nil {
		a.routerError(w, req, err)
		return
	}
	a.log.Info("api token revoked", "token", name, "actor", c.agent.Login, "via", "API")
	w.WriteHeader(http.StatusNoContent)
}
