package config

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crmSecretFile writes a valid whsec_ secret and returns its path.
func crmSecretFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crm.secret")
	if err := os.WriteFile(path, []byte("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCRMDefaults(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil {
		t.Fatal(errs)
	}
	got := c.CRM
	if got.Enabled() || !*got.Inbound || !*got.Outbound || got.Content != CRMSessionEnd || got.PDF != CRMSessionEnd || got.Metadata ||
		got.RetryFor.Duration != 72*time.Hour || got.RetryInitial.Duration != 30*time.Second || got.ConnectTimeout.Duration != 10*time.Second ||
		got.Timeout.Duration != 30*time.Second || got.Workers != 4 || got.LinkTTL.Duration != 30*24*time.Hour {
		t.Errorf("[crm] defaults: %+v", got)
	}
}

func TestCRMValidation(t *testing.T) {
	secret := crmSecretFile(t)
	table := func(keys string) string {
		return "[crm]\nsecret_file = \"" + secret + "\"\nlink_base_url = \"https://desk.example.test\"\n" + keys + "\n[listen]"
	}
	for _, tt := range []struct {
		name, keys, key, msg string
	}{
		{"http to a remote CRM", `url = "http://crm.example.com/hooks"`, "crm.url", "http only to a loopback address: use https"},
		{"not a URL", `url = "crm.example.com"`, "crm.url", "not an absolute URL"},
		{"ftp", `url = "ftp://crm.example.com/"`, "crm.url", "want an https URL"},
		{"content mode", "content = \"always\"", "crm.content", `want "session_end", "each_reply" or "off"`},
		{"pdf mode", "pdf = \"sometimes\"", "crm.pdf", `want "session_end", "each_reply" or "off"`},
		{"retry_for zero", `retry_for = "0s"`, "crm.retry_for", "positive duration"},
		{"timeout negative", `timeout = "-1s"`, "crm.timeout", "positive duration"},
		{"workers", "workers = 0", "crm.workers", "from 1 to 64"},
		{"link base", "url = \"https://crm.example.com/\"\nlink_base_url = \"desk\"", "crm.link_base_url", "want an http or https URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keys := table(tt.keys)
			if strings.Contains(tt.keys, "link_base_url") {
				keys = strings.Replace(keys, "link_base_url = \"https://desk.example.test\"\n", "", 1)
			}
			_, errs := parse(t, edit(t, "[listen]", keys))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
	t.Run("secret file required", func(t *testing.T) {
		_, errs := parse(t, edit(t, "[listen]", "[crm]\nurl = \"https://crm.example.com/\"\nlink_base_url = \"https://desk.example.test\"\n[listen]"))
		if errs == nil || !strings.Contains(errs.Error(), "crm.secret_file: is required with crm.url") {
			t.Errorf("got %v", errs)
		}
	})
	for _, ok := range []string{"https://crm.example.com/hooks", "http://127.0.0.1:8080/hooks", "http://[::1]/hooks", "http://localhost:9/"} {
		if _, errs := parse(t, edit(t, "[listen]", table("url = \""+ok+"\""))); errs != nil {
			t.Errorf("crm.url = %q refused: %v", ok, errs)
		}
	}
}
