package main

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/store"
	"mxdesk/testutil"
)

// archiveTOML is goodConfig with an [archive] table for bucket on s3
// (made here), changed by the replacer pairs.
func archiveTOML(t *testing.T, s3 *testutil.S3, bucket string, replace ...string) string {
	t.Helper()
	return writeFile(t, goodConfig+strings.NewReplacer(replace...).Replace(testutil.ArchiveConfig(t, s3, bucket, 30, `prefix = "mxdesk/{domain}/"`)))
}

// test-connection writes, reads back and deletes a probe object; each
// failure is one line on stderr naming the key to fix, and exit status 1.
func TestArchiveTestConnection(t *testing.T) {
	s3 := testutil.SharedS3(t)
	bucket := testutil.BucketName(t)
	status, out, errOut := runCmd(t, "", "archive", "test-connection", "--config", archiveTOML(t, s3, bucket))
	if status != 0 || errOut != "" || !strings.Contains(out, "wrote, read back and deleted a probe object in bucket "+bucket) {
		t.Fatalf("good settings: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	if names, err := os.ReadDir(filepath.Join(s3.Dir, bucket, "mxdesk")); err == nil && len(names) > 0 {
		t.Errorf("the probe object was left in the bucket: %v", names)
	}

	wrongKey, err := testutil.CredentialsFile(t.TempDir(), s3.Access, "not-the-secret-key")
	if err != nil {
		t.Fatal(err)
	}
	unknownKey, err := testutil.CredentialsFile(t.TempDir(), "nobody-has-this-key", s3.Secret)
	if err != nil {
		t.Fatal(err)
	}
	readerSecret, err := s3.ReadOnlyUser("reader-"+bucket[len(bucket)-9:], bucket)
	if err != nil {
		t.Fatal(err)
	}
	readOnly, err := testutil.CredentialsFile(t.TempDir(), "reader-"+bucket[len(bucket)-9:], readerSecret)
	if err != nil {
		t.Fatal(err)
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := closed.Addr().String()
	closed.Close()
	for _, c := range []struct {
		name    string
		replace []string
		want    string
	}{
		{"wrong secret key", []string{"credentials_file = ", "credentials_file = " + quote(wrongKey) + "\n#"}, "archive.credentials_file: " + s3.Endpoint + " refused the key in " + wrongKey},
		{"unknown access key", []string{"credentials_file = ", "credentials_file = " + quote(unknownKey) + "\n#"}, "archive.credentials_file: " + s3.Endpoint + " refused the key in " + unknownKey},
		{"no write permission", []string{"credentials_file = ", "credentials_file = " + quote(readOnly) + "\n#"},
			"archive.credentials_file: the key in " + readOnly + " has no permission to write a probe object in bucket " + quote(bucket) + " (AccessDenied)"},
		{"missing bucket", []string{"bucket = " + quote(bucket), `bucket = "no-such-bucket"`}, `archive.bucket: bucket "no-such-bucket" does not exist`},
		{"server down", []string{s3.Endpoint, down}, "archive.endpoint: "},
		{"host that does not resolve", []string{"endpoint = " + quote(s3.Endpoint), `endpoint = "s3.no-such-host.invalid:9000"`, "tls = false", "tls = true"},
			"archive.endpoint: DNS: s3.no-such-host.invalid does not resolve"},
		{"TLS to a plain HTTP server", []string{"tls = false", "tls = true"}, "archive.tls: "},
	} {
		status, out, errOut := runCmd(t, "", "archive", "test-connection", "--config", archiveTOML(t, s3, bucket, c.replace...))
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if status != 1 || out != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], c.want) {
			t.Errorf("%s: status %d, stdout %q, stderr %q; want 1 and one line starting %q", c.name, status, out, errOut, c.want)
		}
	}
}

// The credentials file must be private, and tls = false is for loopback
// only: check-config (and every command) names the key.
func TestArchiveConfigChecks(t *testing.T) {
	s3 := testutil.SharedS3(t)
	path := archiveTOML(t, s3, testutil.BucketName(t), "prefix = ", "prefix = \"{team}/\"\n#")
	status, _, errOut := runCmd(t, "", "check-config", "--config", path)
	if status != 1 || !strings.Contains(errOut, "archive.prefix: unknown variable {team}") {
		t.Errorf("unknown prefix variable: status %d, stderr %q", status, errOut)
	}
	open, err := testutil.CredentialsFile(t.TempDir(), "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	path = archiveTOML(t, s3, testutil.BucketName(t), "credentials_file = ", "credentials_file = "+quote(open)+"\n#",
		"endpoint = "+quote(s3.Endpoint), `endpoint = "s3.example.com"`)
	status, _, errOut = runCmd(t, "", "archive", "test-connection", "--config", path)
	for _, want := range []string{"archive.credentials_file: " + open + " has mode 0644", "archive.tls: false is only allowed for a loopback endpoint"} {
		if status != 1 || !strings.Contains(errOut, want) {
			t.Errorf("status %d, stderr %q; want it to say %q", status, errOut, want)
		}
	}
}

func quote(s string) string { return `"` + s + `"` }

// waitArchived waits until the server has archived every one of ids.
func waitArchived(t *testing.T, g *gateway.Gateway, ids []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond) // the store is polled: a run has no event to wait on
	defer tick.Stop()
	for {
		n := 0
		g.Router().View(func(rd store.Reader) error {
			for _, id := range ids {
				if _, err := rd.Archived(id); err == nil {
					n++
				}
			}
			return nil
		})
		if n == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sessions archived after 30s", n, len(ids))
		}
		<-tick.C
	}
}

// The server archives what is due when it starts (then every
// archive.interval); mxdesk archive restore and run work on the running
// server.
func TestArchiveCommandsOnline(t *testing.T) {
	s3 := testutil.SharedS3(t)
	path, _ := sessionConfig(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	path = writeFile(t, string(data)+testutil.ArchiveConfig(t, s3, testutil.BucketName(t), 30, ""))
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	status, _, errOut := runCmd(t, "", "archive", "run", "--config", path)
	if status != 1 || !strings.Contains(errOut, "no server answers on "+gateway.AdminSocket(cfg)) {
		t.Errorf("archive run without a server: status %d, stderr %q", status, errOut)
	}
	ids := testutil.ClosedSessions(t, cfg, testutil.Closed{StoreDir: filepath.Join(cfg.DataDir, "store"), Login: "alice@example.test",
		Passwd: testutil.Password, Address: "support@example.test", Folder: "Queues/Support", N: 2})
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	waitArchived(t, g, ids)

	status, out, errOut := runCmd(t, "", "archive", "restore", ids[0], "--config", path)
	if status != 0 || !strings.HasPrefix(out, ids[0]+" restored from s3://") {
		t.Errorf("archive restore: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, errOut = runCmd(t, "", "archive", "restore", "S-ZZZZZ", "--config", path)
	if status != 1 || out != "" || !strings.Contains(errOut, "S-ZZZZZ: not in the store and no folder") {
		t.Errorf("archive restore of an unknown session: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, _ = runCmd(t, "", "archive", "run", "--dry-run", "--config", path)
	if status != 0 || out != "0 sessions due; nothing changed (dry run)\n" {
		t.Errorf("archive run --dry-run after a restore: status %d, stdout %q", status, out)
	}
	status, out, _ = runCmd(t, "", "archive", "run", "--config", path)
	if status != 0 || out != "0 archived, 0 failed, 0 bytes written\n" {
		t.Errorf("archive run: status %d, stdout %q", status, out)
	}
}
