package router

import (
	"strings"

	"mxdesk/passwd"
)

// dummyHash is checked when a login is unknown, so a wrong login costs the
// same time as a wrong password and logins can't be probed by timing.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3E3Y1n3mOmq9xFQk1Z3y2hC"

var errAuth = errorf(KindAuth, "invalid login or password")

// Authenticate checks a login and password against the configuration. A
// wrong login or password returns an error of KindAuth; both take the same
// time.
func (r *Router) Authenticate(login, password string) (*Agent, error) {
	cfg := r.config()
	ac, ok := cfg.AgentByLogin(login)
	if !ok {
		passwd.Verify(dummyHash, password)
		return nil, errAuth
	}
	if !passwd.Verify(ac.PasswordHash, password) {
		return nil, errAuth
	}
	return &Agent{
		Login:  strings.ToLower(ac.Login),
		Name:   ac.Name,
		Role:   ac.Role,
		Queues: append([]string(nil), ac.Queues...),
	}, nil
}

// servesQueue tells whether a serves the queue named q.
func (a *Agent) servesQueue(q string) bool {
	for _, name := range a.Queues {
		if name == q {
			return true
		}
	}
	return false
}
