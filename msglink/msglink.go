// Package msglink makes and checks the signed, expiring links to one
// message that the CRM feed posts (SPEC §11): a CRM user opens the message
// in a browser, without a mail client, and nobody can guess or extend a link.
// Handler serves the page a link opens: the message rendered safely, with
// nothing loaded from elsewhere.
package msglink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mxdesk/store"
)

// Path is where links point on [listen] http: Path + "<session>/<blob>".
const Path = "/m/"

// ErrInvalid is a link that was not made with this key or was changed.
var ErrInvalid = errors.New("msglink: invalid link")

// ErrExpired is a genuine link past its expiry.
var ErrExpired = errors.New("msglink: link expired")

// KeyFromSecret derives the link key from the CRM feed's secret, so that
// every node with the same configuration makes the same links and a link
// key never doubles as a webhook signature key.
func KeyFromSecret(secret []byte) []byte {
	return DeriveKey(secret, "mxdesk message links")
}

// DeriveKey derives the key of one kind of link from a secret: links of
// another purpose (message links, rating links) are signed with another
// key, so none can pass for the other.
func DeriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// MAC signs fields, one per line, with key: the signature a link carries
// (HMAC-SHA256, base64url). Check it with hmac.Equal.
func MAC(key []byte, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(fields, "\n")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Signer makes and checks links with one key.
type Signer struct {
	key  []byte
	base string // crm.link_base_url without its trailing slash
	ttl  time.Duration
	now  func() time.Time
}

// New returns a Signer making links under baseURL that stay valid for ttl.
// now may be nil (time.Now).
func New(key []byte, baseURL string, ttl time.Duration, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, base: strings.TrimRight(baseURL, "/"), ttl: ttl, now: now}
}

// URL links to the message with body blob in session.
func (s *Signer) URL(session string, blob store.BlobID) string {
	exp := s.now().Add(s.ttl).Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(session, blob, exp)}}
	return fmt.Sprintf("%s%s%s/%d?%s", s.base, Path, session, blob, q.Encode())
}

// Verify checks a link's path and query and returns what it points to.
func (s *Signer) Verify(u *url.URL) (session string, blob store.BlobID, err error) {
	rest, ok := strings.CutPrefix(u.Path, Path)
	if !ok {
		return "", 0, ErrInvalid
	}
	session, blobText, ok := strings.Cut(rest, "/")
	if !ok {
		return "", 0, ErrInvalid
	}
	id, err := strconv.ParseUint(blobText, 10, 64)
	if err != nil {
		return "", 0, ErrInvalid
	}
	q := u.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return "", 0, ErrInvalid
	}
	want := s.sign(session, store.BlobID(id), exp)
	if !hmac.Equal([]byte(q.Get("sig")), []byte(want)) {
		return "", 0, ErrInvalid
	}
	if s.now().Unix() > exp {
		return "", 0, ErrExpired
	}
	return session, store.BlobID(id), nil
}

func (s *Signer) sign(session string, blob store.BlobID, exp int64) string {
	return MAC(s.key, "mxdesk-msglink-v1", session, strconv.FormatUint(uint64(blob), 10), strconv.FormatInt(exp, 10))
}

// Token signs subject for purpose, without expiry: a link that must keep
// working as long as the key does, such as a campaign message's
// unsubscribe link (RFC 8058). Another purpose never accepts it, nor
// does Verify.
func (s *Signer) Token(purpose, subject string) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "mxdesk-token-v1\n%s\n%s", purpose, subject)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckToken reports whether token is Token(purpose, subject).
func (s *Signer) CheckToken(purpose, subject, token string) bool {
	return hmac.Equal([]byte(token), []byte(s.Token(purpose, subject)))
}

// Base is the base URL links start with, without its trailing slash.
func (s *Signer) Base() string { return s.base }
