package router

import (
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/passwd"
	"mxdesk/store"
)

// dummyHash is checked when a login is unknown, so a wrong login costs the
// same time as a wrong password and logins can't be probed by timing.
const dummyHash = "$2a$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3E3Y1n3mOmq9xFQk1Z3y2hC"

var errAuth = errorf(KindAuth, "invalid login or password")

// Authenticate checks a login and password against the configuration. A
// wrong login or password returns an error of KindAuth; both take the same
// time.
func (r *Router) Authenticate(login, password string) (*Agent, error) {
	return r.AuthenticateFrom(login, password, "", "")
}

// AuthenticateFrom is Authenticate for a client of protocol (imap, smtp,
// http) at remote address ip (SPEC §10): failed logins are counted per
// account, over every protocol, and per address and protocol; beyond a
// few the answer is delayed more and more. After limits.login_lock_after
// failures of one account, or from one address for that many different
// accounts, the account or the address (for that protocol) is locked for
// limits.login_lock_for, right password or not (KindLocked).
func (r *Router) AuthenticateFrom(login, password, protocol, ip string) (*Agent, error) {
	login = config.Canonical(login) // one form for the lock, the lookup and the logs
	account, address := "account:"+login, ""
	if ip != "" {
		address = "ip:" + protocol + ":" + ip
	}
	if locked, until := r.logins.Locked(account, address); locked {
		r.log.Warn("login refused: locked", "login", login, "protocol", protocol, "remote", ip, "until", until.Format(time.RFC3339))
		return nil, errorf(KindLocked, "too many failed logins; try again after %s", until.UTC().Format("15:04 MST"))
	}
	a, err := r.checkPassword(login, password)
	if err == nil {
		r.logins.Succeeded(account, address)
		return a, nil
	}
	delay, locked := r.logins.Failed(account, address)
	if locked {
		r.log.Warn("login locked after repeated failures (limits.login_lock_after)", "login", login, "protocol", protocol,
			"remote", ip, "for", r.config().Limits.LoginLockFor.Duration.String())
	}
	time.Sleep(delay) // back-off: each further guess costs more
	return nil, err
}

func (r *Router) checkPassword(login, password string) (*Agent, error) {
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
		Queues: cfg.AgentQueues(ac),
		hash:   ac.PasswordHash,
	}, nil
}

// Current reports whether a login still stands: the configuration in
// force has the agent with the password, role and queues it logged in
// with. After a reload that removed or changed the agent, connections
// must not go on with what the old entry allowed.
func (r *Router) Current(a *Agent) bool { return a.current(r.config()) }

func (a *Agent) current(cfg *config.Config) bool {
	ac, ok := cfg.AgentByLogin(a.Login)
	return ok && ac.PasswordHash == a.hash && ac.Role == a.Role && slices.Equal(cfg.AgentQueues(ac), a.Queues)
}

// servesQueue tells whether a serves the queue named q (Queues is the
// effective list of config.AgentQueues, taken at login).
func (a *Agent) servesQueue(q string) bool {
	for _, name := range a.Queues {
		if name == q {
			return true
		}
	}
	return false
}

// mayActOn tells whether a may reply to, note or transfer s: their own,
// one of their queues', or any for a supervisor.
func (a *Agent) mayActOn(s store.Session) bool {
	return s.Agent == a.Login || a.servesQueue(s.Queue) || config.IsSupervisor(a.Role)
}
