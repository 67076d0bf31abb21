package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"mxdesk/router"
)

// Problem is an error answer, RFC 9457 application/problem+json. Field
// names the request's field a 422 is about.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Field  string `json:"field,omitempty"`
}

func problem(w http.ResponseWriter, status int, detail string) {
	writeProblem(w, Problem{Status: status, Detail: detail})
}

// invalidField answers 422 about one field of the request's body.
func invalidField(w http.ResponseWriter, field, detail string) {
	writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Detail: field + ": " + detail, Field: field})
}

func writeProblem(w http.ResponseWriter, p Problem) {
	p.Type, p.Title = "about:blank", http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // an error here is the client gone
}

// maxBody bounds a request's JSON body.
const maxBody = 256 << 10

// decode reads the JSON body into v, answering 400 (false) when it is not
// one JSON object of v's fields.
func decode(w http.ResponseWriter, req *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		problem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
	case errors.Is(err, io.EOF):
		problem(w, http.StatusBadRequest, "body: empty, want a JSON object")
	default:
		problem(w, http.StatusBadRequest, "body: "+err.Error())
	}
	return false
}

// routerError answers a router error: its client-safe message with the
// status its kind means; anything else is an internal error.
func (a *API) routerError(w http.ResponseWriter, req *http.Request, err error) {
	status := map[router.Kind]int{
		router.KindNotFound: http.StatusNotFound, router.KindExists: http.StatusConflict,
		router.KindForbidden: http.StatusForbidden, router.KindInvalid: http.StatusUnprocessableEntity,
		router.KindTooBig: http.StatusRequestEntityTooLarge, router.KindLimit: http.StatusTooManyRequests,
		router.KindUnavailable: http.StatusServiceUnavailable, router.KindNoSpace: http.StatusServiceUnavailable,
	}[router.KindOf(err)]
	if status == 0 {
		a.internalError(w, req, err)
		return
	}
	problem(w, status, err.Error())
}

// internalError logs err and answers 500 without its text.
func (a *API) internalError(w http.ResponseWriter, req *http.Request, err error) {
	a.log.Error("api request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	problem(w, http.StatusInternalServerError, "internal error: the server's log has the details")
}
