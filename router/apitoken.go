package router

// The public HTTP API's tokens (package api serves the API, mxdesk token
// manages them) and the address of queued requests without an email
// customer. The secret is shown once, at creation; the store keeps its
// SHA-256.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"mxdesk/store"
)

// The roles of an API token: an integrator reads sessions, queues items
// and adds notes; a supervisor does everything on sessions and agents; an
// admin also manages tokens.
const (
	RoleIntegrator = "integrator"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// APIRoles lists the roles, least allowed first.
var APIRoles = []string{RoleIntegrator, RoleSupervisor, RoleAdmin}

// APITokenPrefix starts every API token, so a leaked one is recognisable
// (secret scanners, logs).
const APITokenPrefix = "mxd_"

// maxTokenName bounds a token's name, which audits and events show.
const maxTokenName = 64

// CreateAPIToken makes a token called name with role, valid until
// expires (zero: no expiry), and returns its secret, which is not stored.
func (r *Router) CreateAPIToken(ctx context.Context, name, role string, expires time.Time) (string, store.APIToken, error) {
	if err := checkTokenName(name); err != nil {
		return "", store.APIToken{}, err
	}
	if !slices.Contains(APIRoles, role) {
		return "", store.APIToken{}, errorf(KindInvalid, "role %q: want integrator, supervisor or admin", role)
	}
	secret := APITokenPrefix + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	tok := store.APIToken{Name: name, Role: role, Hash: HashAPIToken(secret), Created: r.now().UTC(), Expires: expires}
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		if _, err := tx.APIToken(name); err == nil {
			return errorf(KindExists, "an API token called %q exists: revoke it first or choose another name", name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutAPIToken(tok)
	})
	if err != nil {
		return "", store.APIToken{}, err
	}
	return secret, tok, nil
}

// checkTokenName accepts names safe in a log line and an event's actor.
func checkTokenName(name string) error {
	ok := name != "" && len(name) <= maxTokenName && strings.IndexFunc(name, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) < 0
	if !ok {
		return errorf(KindInvalid, "token name %q: want 1 to %d letters, digits, '-', '_' or '.'", name, maxTokenName)
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

// HashAPIToken is what the store keeps of a secret.
func HashAPIToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// APITokens lists every token, by name.
func (r *Router) APITokens() (list []store.APIToken, err error) {
	err = r.st.View(func(rd store.Reader) error {
		list, err = rd.APITokens()
		return err
	})
	return list, err
}

// RevokeAPIToken deletes the token called name: requests with it are
// refused from now on.
func (r *Router) RevokeAPIToken(ctx context.Context, name string) error {
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		err := tx.DeleteAPIToken(name)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(KindNotFound, "no API token called %q", name)
		}
		return err
	})
}

// ErrBadAPIToken: the secret is no token's, or its token expired.
var ErrBadAPIToken = errorf(KindAuth, "unknown, revoked or expired API token")

// APITokenFor finds the live token whose secret is secret.
func (r *Router) APITokenFor(secret string) (tok store.APIToken, err error) {
	if !strings.HasPrefix(secret, APITokenPrefix) {
		return tok, ErrBadAPIToken
	}
	err = r.st.View(func(rd store.Reader) error {
		tok, err = rd.APITokenByHash(HashAPIToken(secret))
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return tok, ErrBadAPIToken
	case err != nil:
		return tok, err
	case !tok.Expires.IsZero() && !r.now().Before(tok.Expires):
		return tok, ErrBadAPIToken
	}
	return tok, nil
}

// APIAgent is the synthetic agent an API token acts as: a supervisor of
// every queue, logged as api:<name>, so the router's permission checks
// apply to it as to a person.
func (r *Router) APIAgent(tok store.APIToken) *Agent {
	cfg := r.config()
	queues := make([]string, len(cfg.Queue))
	for i, q := range cfg.Queue {
		queues[i] = q.Name
	}
	return &Agent{Login: "api:" + tok.Name, Name: tok.Name, Role: RoleSupervisor, Queues: queues, api: true}
}

// RequestNoReplyLocal is the local part of the From of a queued request
// whose origin has no email address (RequestAdd with a name as from):
// <RequestNoReplyLocal>@<the queue's domain>. Agents can't reply to it.
const RequestNoReplyLocal = "request-noreply"

// RequestURIHeader carries the URI of a queued request on its message
// (Envelope.RequestURI).
const RequestURIHeader = "X-Mxdesk-Request-URI"

// errNoEmailCustomer refuses a reply to a queued request that has no
// email customer.
func errNoEmailCustomer(addr string) error {
	return errorf(KindForbidden, "%s is a queued request's placeholder: this request has no email customer to reply to (add an internal note instead)", addr)
}

// isRequestNoReply tells whether addr is a queued request's placeholder.
func (r *Router) isRequestNoReply(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	return at > 0 && strings.EqualFold(addr[:at], RequestNoReplyLocal) && r.config().IsLocalDomain(addr[at+1:])
}
