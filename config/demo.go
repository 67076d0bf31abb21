package config

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"text/template"

	"mxdesk/passwd"
)

// DemoFile is the name of the demo configuration inside the demo data dir.
const DemoFile = "demo.toml"

// DemoLogin is one login of the demo and its plaintext password, to print
// at start-up. Password is empty if demo.toml no longer carries a password
// comment that matches the login's hash (someone edited the file).
type DemoLogin struct {
	Login, Name, Role, Password string
}

// demoAgent is an agent of the built-in demo (SPEC §14).
type demoAgent struct {
	Login, Name, Role string
	Queues            []string
	Password, Hash    string
}

func demoAgents() []demoAgent {
	return []demoAgent{
		{Login: "alice@example.test", Name: "Alice Rossi", Role: RoleAgent, Queues: []string{"Support"}},
		{Login: "bob@example.test", Name: "Bob Berg", Role: RoleAgent, Queues: []string{"Billing"}},
		{Login: "carol@example.test", Name: "Carol Nilsen", Role: RoleSupervisor, Queues: []string{"Support", "Billing"}},
	}
}

// Demo returns the self-contained demo of SPEC §14, kept in dataDir. The
// first run writes dataDir/demo.toml, an ordinary configuration with fresh
// random passwords (hashed, and in comments in plaintext); later runs load
// that file, so the passwords stay the same until it is deleted. The
// returned configuration always uses dataDir as its data_dir, even if the
// directory was moved since the file was written.
func Demo(dataDir string) (*Config, []DemoLogin, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("demo data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("demo data dir: %w", err)
	}
	path := filepath.Join(dir, DemoFile)
	var written map[string]string // login → password, if this run wrote the file
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if written, err = writeDemo(path, dir); err != nil {
			return nil, nil, fmt.Errorf("write demo configuration: %w", err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read demo configuration: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, nil, fmt.Errorf("demo configuration %s is invalid (fix it, or delete it to start over):\n%w", path, err)
	}
	c.DataDir = dir
	if written != nil {
		return c, knownLogins(c, written), nil
	}
	return c, demoLogins(c, data), nil
}

// writeDemo renders the demo with new passwords and puts it at path
// atomically, so that a concurrent run reads either nothing or all of it.
// It returns the passwords by login, or nil if another run wrote it first.
func writeDemo(path, dataDir string) (map[string]string, error) {
	agents := demoAgents()
	if err := setPasswords(agents); err != nil {
		return nil, err
	}
	passwords := map[string]string{}
	for _, a := range agents {
		passwords[a.Login] = a.Password
	}
	var buf bytes.Buffer
	if err := demoTemplate.Execute(&buf, map[string]any{"DataDir": dataDir, "Agents": agents}); err != nil {
		return nil, err
	}
	created, err := writeNew(path, buf.Bytes())
	if !created {
		passwords = nil
	}
	return passwords, err
}

// setPasswords gives every agent a random password and its bcrypt hash,
// side by side since each hash takes a while on purpose.
func setPasswords(agents []demoAgent) error {
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i := range agents {
		wg.Go(func() {
			a := &agents[i]
			if a.Password, errs[i] = randomPassword(); errs[i] == nil {
				a.Hash, errs[i] = passwd.Hash(a.Password, passwd.Bcrypt)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// writeNew creates path with data and mode 0600, unless it already exists.
func writeNew(path string, data []byte) (created bool, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".demo-*.toml") // mode 0600
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	// Link, unlike Rename, fails if another run wrote the file first.
	err = os.Link(f.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// knownLogins lists the agents with the passwords this run just wrote.
func knownLogins(c *Config, passwords map[string]string) []DemoLogin {
	logins := make([]DemoLogin, len(c.Agent))
	for i, a := range c.Agent {
		logins[i] = DemoLogin{Login: a.Login, Name: a.Name, Role: a.Role, Password: passwords[a.Login]}
	}
	return logins
}

// passwordAlphabet has 32 characters without the look-alikes l, o, 0, 1, so
// that a byte modulo 32 picks one without bias.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// randomPassword returns three groups of four characters, e.g. "k7qm-2xdp-hw9c"
// (60 bits).
func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = passwordAlphabet[b[i]%32]
	}
	return string(b[0:4]) + "-" + string(b[4:8]) + "-" + string(b[8:12]), nil
}

// passwordComment matches the comment writeDemo puts above each hash.
var passwordComment = regexp.MustCompile(`(?m)^#\s*password for (\S+):\s*(\S+)\s*$`)

// demoLogins pairs every agent with the password in its comment, if that
// password still matches the agent's hash.
func demoLogins(c *Config, data []byte) []DemoLogin {
	comments := map[string]string{}
	for _, m := range passwordComment.FindAllSubmatch(data, -1) {
		comments[strings.ToLower(string(m[1]))] = string(m[2])
	}
	logins := make([]DemoLogin, len(c.Agent))
	var wg sync.WaitGroup
	for i, a := range c.Agent {
		logins[i] = DemoLogin{Login: a.Login, Name: a.Name, Role: a.Role}
		pw, ok := comments[strings.ToLower(a.Login)]
		if !ok {
			continue
		}
		wg.Go(func() { // bcrypt is slow on purpose; check them side by side
			if passwd.Verify(a.PasswordHash, pw) {
				logins[i].Password = pw
			}
		})
	}
	wg.Wait()
	return logins
}

// tomlString quotes s as a TOML basic string; JSON's escapes are a subset
// of TOML's.
func tomlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var demoTemplate = template.Must(template.New("demo").Funcs(template.FuncMap{
	"q": tomlString,
	"list": func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = tomlString(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	},
}).Parse(`# mxdesk demo configuration.
#
# "mxdesk serve" without --config wrote this file on its first run and reads
# it again on every later run, so the passwords below stay the same; delete
# the file to get new ones.
#
# It is an ordinary mxdesk configuration: copy it, edit it and run
#     mxdesk serve --config /path/to/your-copy.toml
# (docs/configuration.md describes every key). Before using it for real
# mail, set your own domain, queues and agents, listen on public addresses,
# configure tls.cert and tls.key, and turn insecure_auth off.
#
# The demo listens on loopback only and allows AUTH without TLS, which is
# acceptable only because nobody else can connect. The plaintext passwords
# in the comments below are there for trying the demo out: never keep
# plaintext passwords in a real configuration.

hostname = "localhost"
data_dir = {{q .DataDir}}
company  = "Example Inc."
timezone = "UTC"

# Send-only addresses never accept mail; auto-replies may come from them.
[[send_only]]
address = "noreply@example.test"

[listen]
smtp       = "127.0.0.1:2525"   # inbound MX: point a test client here
submission = "127.0.0.1:2587"   # agents send replies here
imap       = "127.0.0.1:1143"   # agents read mail here
http       = "127.0.0.1:8080"   # metrics, health, supervisor page

[tls]
insecure_auth = true            # loopback only: AUTH without TLS

[limits]
messages_per_sender_per_hour = 0  # mxdesk bench sends thousands from one sender
commands_per_connection = 0       # ... over few connections

[[domain]]
name = "example.test"

[[queue]]
name = "Support"
addresses = ["support@example.test"]
auto_assign = false
allow_personal_queue = true     # agents get a Later folder

[[queue]]
name = "Billing"
addresses = ["billing@example.test"]
auto_assign = false

[[template]]                    # shown in every agent's Templates folder
name = "Thanks"
subject = "Thank you for contacting us"
body = """
Hello,

thank you for your message. We are looking into it and will get back to you soon.
"""
{{range .Agents}}
[[agent]]
login = {{q .Login}}
name = {{q .Name}}
# password for {{.Login}}: {{.Password}}
password_hash = {{q .Hash}}
queues = {{list .Queues}}
role = {{q .Role}}
{{end}}`))
