package config

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mxdesk-data")
	c, logins, err := Demo(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DemoFile)
	checkMode(t, dir, 0o700)
	checkMode(t, path, 0o600)

	// The file is an ordinary configuration.
	loaded, err := Load(path)
	if err != nil {
		t.Fatalf("Load(demo.toml): %v", err)
	}
	if loaded.DataDir != dir || c.DataDir != dir {
		t.Errorf("data_dir = %q (file) / %q (Demo), want %q", loaded.DataDir, c.DataDir, dir)
	}
	checkDemoConfig(t, c)

	pw := regexp.MustCompile(`^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$`)
	want := []DemoLogin{
		{Login: "alice@example.test", Name: "Alice Rossi", Role: "agent"},
		{Login: "bob@example.test", Name: "Bob Berg", Role: "agent"},
		{Login: "carol@example.test", Name: "Carol Nilsen", Role: "supervisor"},
	}
	if len(logins) != len(want) {
		t.Fatalf("logins = %+v", logins)
	}
	for i, l := range logins {
		if l.Login != want[i].Login || l.Name != want[i].Name || l.Role != want[i].Role {
			t.Errorf("login %d = %+v, want %+v", i, l, want[i])
		}
		if !pw.MatchString(l.Password) {
			t.Errorf("password of %s = %q, want three groups of four", l.Login, l.Password)
		}
	}
	if logins[0].Password == logins[1].Password {
		t.Error("two logins got the same password")
	}
	// A second run keeps the passwords, which it checks against the hashes.
	_, again, err := Demo(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range logins {
		if again[i] != logins[i] {
			t.Errorf("second run: %+v, first run: %+v", again[i], logins[i])
		}
	}
}

func checkDemoConfig(t *testing.T, c *Config) {
	t.Helper()
	if c.Hostname != "localhost" || c.Company != "Example Inc." || len(c.Domain) != 1 || c.Domain[0].Name != "example.test" {
		t.Errorf("demo hostname %q, company %q, domains %v", c.Hostname, c.Company, c.Domain)
	}
	want := Listen{SMTP: "127.0.0.1:2525", Submission: "127.0.0.1:2587", IMAP: "127.0.0.1:1143", HTTP: "127.0.0.1:8080"}
	if !reflect.DeepEqual(c.Listen, want) || !c.TLS.InsecureAuth {
		t.Errorf("demo listen = %+v, insecure_auth %v", c.Listen, c.TLS.InsecureAuth)
	}
	for addr, queue := range map[string]string{"support@example.test": "Support", "billing@example.test": "Billing"} {
		if q, ok := c.QueueByAddress(addr); !ok || q.Name != queue || q.AutoAssign {
			t.Errorf("QueueByAddress(%s) = %+v, %v", addr, q, ok)
		}
	}
	if !c.IsSendOnly("noreply@example.test") {
		t.Error("noreply@example.test is not send-only")
	}
	if carol, ok := c.AgentByLogin("carol@example.test"); !ok || carol.Role != RoleSupervisor || len(carol.Queues) != 2 {
		t.Errorf("carol = %+v", carol)
	}
}

// Later runs show a password only if its comment still matches the hash.
// The file is written here with cheap argon2id hashes to keep the test fast.
func TestDemoRereadsPasswords(t *testing.T) {
	dir := t.TempDir()
	agents := demoAgents()
	for i := range agents {
		agents[i].Password = fmt.Sprintf("pw-%d", i)
		agents[i].Hash = cheapHash(agents[i].Password)
	}
	agents[1].Password = "edited" // bob's comment no longer matches his hash
	var buf bytes.Buffer
	if err := demoTemplate.Execute(&buf, map[string]any{"DataDir": "/elsewhere", "Agents": agents}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DemoFile), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, logins, err := Demo(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != dir {
		t.Errorf("DataDir = %q, want the demo dir %q", c.DataDir, dir)
	}
	want := []string{"pw-0", "", "pw-2"}
	for i, l := range logins {
		if l.Password != want[i] {
			t.Errorf("password of %s = %q, want %q", l.Login, l.Password, want[i])
		}
	}
}

// cheapHash is an argon2id hash with the smallest parameters Check accepts.
func cheapHash(pw string) string {
	salt := []byte("0123456789abcdef")
	enc := base64.RawStdEncoding
	return "$argon2id$v=19$m=8,t=1,p=1$" + enc.EncodeToString(salt) + "$" +
		enc.EncodeToString(argon2.IDKey([]byte(pw), salt, 1, 8, 1, 32))
}

func TestDemoInvalidFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DemoFile), []byte("data_dir = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Demo(dir); err == nil {
		t.Error("Demo with an invalid demo.toml: no error")
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %o, want %o", path, got, want)
	}
}
