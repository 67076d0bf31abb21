package api

import "net/http"

// actionRoutes mounts the routes that change a session (actions.go).
func (a *API) actionRoutes(mux *http.ServeMux) {}
