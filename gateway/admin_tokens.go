package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"mxdesk/router"
	"mxdesk/store"
)

// AdminToken is one entry of GET /v1/tokens: a public API token without
// its secret.
type AdminToken struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"`
}

// AdminNewToken is the body of POST /v1/tokens.
type AdminNewToken struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Expires time.Time `json:"expires,omitzero"`
}

// AdminCreatedToken is the answer of POST /v1/tokens: the token and, this
// once, its secret.
type AdminCreatedToken struct {
	AdminToken
	Token string `json:"token"`
}

func adminToken(t store.APIToken) AdminToken {
	return AdminToken{Name: t.Name, Role: t.Role, Created: t.Created, Expires: t.Expires}
}

func (a *adminAPI) tokenRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/tokens", a.listTokens)
	mux.HandleFunc("POST /v1/tokens", a.createToken)
	mux.HandleFunc("DELETE /v1/tokens/{name}", a.revokeToken)
}

// listTokens is GET /v1/tokens: every API token by name, without secrets.
func (a *adminAPI) listTokens(w http.ResponseWriter, req *http.Request) {
	list, err := a.r.APITokens()
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	out := make([]AdminToken, len(list))
	for i, t := range list {
		out[i] = adminToken(t)
	}
	writeAdminJSON(w, out)
}

// createToken is POST /v1/tokens with {"name", "role", "expires"}.
func (a *adminAPI) createToken(w http.ResponseWriter, req *http.Request) {
	var body AdminNewToken
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("empty")
		}
		writeAdminError(w, http.StatusBadRequest, fmt.Sprintf("body: %v (want {\"name\": ..., \"role\": ...})", err))
		return
	}
	secret, tok, err := a.r.CreateAPIToken(req.Context(), body.Name, body.Role, body.Expires)
	switch router.KindOf(err) {
	case 0:
	case router.KindInvalid:
		writeAdminError(w, http.StatusBadRequest, err.Error())
		return
	case router.KindExists:
		writeAdminError(w, http.StatusConflict, err.Error())
		return
	}
	if err != nil {
		a.internalError(w, req, err)
		return
	}
	a.log.Info("api token created", "token", tok.Name, "role", tok.Role, "expires", tok.Expires, "actor", adminActor(req), "via", "admin API")
	writeAdminJSON(w, AdminCreatedToken{AdminToken: adminToken(tok), Token: secret})
}

// revokeToken is DELETE /v1/tokens/{name}.
func (a *adminAPI) revokeToken(w http.ResponseWriter, req *http.Request) {
	name := req.PathValue("name")
	if !a.answerError(w, req, a.r.RevokeAPIToken(req.Context(), name)) {
		return
	}
	a.log.Info("api token revoked", "token", name, "actor", adminActor(req), "via", "admin API")
	writeAdminJSON(w, AdminToken{Name: name})
}
