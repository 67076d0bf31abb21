// Package rating serves the satisfaction rating links of agents' replies
// ([queue.rating], issue 20) on [listen] http. A link names one session
// and one score and is signed (msglink.MAC) with a key of its own
// (msglink.DeriveKey of a secret kept in data_dir), so that neither a
// message link nor a link changed to another session or score passes.
//
// GET shows a confirmation page with a button and records nothing: mail
// scanners and link previews fetch links. The button POSTs to the same
// URL, which records the rating (last one wins) and thanks the customer.
// The pages run no script.
package rating

import (
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mxdesk/msglink"
)

// Path is where the links point on [listen] http: Path + "<session>/<score>?sig=".
const Path = "/rate/"

// SecretFile is the secret in data_dir the key is derived from: made at
// the first start (0600), kept for ever, so links stay valid across
// restarts.
const SecretFile = "rating.secret"

// secretBytes is the size of a new secret.
const secretBytes = 32

// Links makes and checks rating links.
type Links struct{ key []byte }

// LoadLinks reads the secret in dataDir, making it at the first call, and
// returns the link maker keyed by it.
func LoadLinks(dataDir string) (*Links, error) {
	secret, err := loadSecret(filepath.Join(dataDir, SecretFile))
	if err != nil {
		return nil, err
	}
	return &Links{key: msglink.DeriveKey(secret, "mxdesk rating links")}, nil
}

// loadSecret reads path, or writes a new random secret there durably
// (a temporary file synced, renamed, the directory synced).
func loadSecret(path string) ([]byte, error) {
	secret, err := os.ReadFile(path)
	if err == nil && len(secret) >= secretBytes {
		return secret, nil
	}
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("rating links secret %s: %w", path, errOr(err, "too short: remove it to make a new one"))
	}
	secret = make([]byte, secretBytes)
	rand.Read(secret)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("rating links secret %s: %w", path, err)
	}
	_, err = f.Write(secret)
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return nil, fmt.Errorf("rating links secret %s: %w", path, err)
	}
	return secret, nil
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// URL is the link to rate session with score, under base
// (rating.base_url); it is router.Options.RatingLink.
func (l *Links) URL(base, session string, score int) string {
	return strings.TrimRight(base, "/") + Path + url.PathEscape(session) + "/" + strconv.Itoa(score) +
		"?sig=" + l.sign(session, score)
}

func (l *Links) sign(session string, score int) string {
	return msglink.MAC(l.key, "mxdesk-rating-v1", session, strconv.Itoa(score))
}

// errNoLink is a path that is not a rating link at all.
var errNoLink = errors.New("not a rating link")

// errForged is a rating link whose signature does not match.
var errForged = errors.New("rating link not signed by this desk")

// verify reads a link's session and score and checks its signature.
func (l *Links) verify(u *url.URL) (session string, score int, err error) {
	rest, ok := strings.CutPrefix(u.Path, Path)
	if !ok {
		return "", 0, errNoLink
	}
	session, scoreText, ok := strings.Cut(rest, "/")
	if !ok || session == "" {
		return "", 0, errNoLink
	}
	score, err = strconv.Atoi(scoreText)
	if err != nil || score < 1 || strconv.Itoa(score) != scoreText {
		return "", 0, errNoLink
	}
	if !hmac.Equal([]byte(u.Query().Get("sig")), []byte(l.sign(session, score))) {
		return "", 0, errForged
	}
	return session, score, nil
}
