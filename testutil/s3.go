package testutil

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is a real S3 server for tests: versitygw with a posix backend in a
// temporary directory, its own root keys, on a loopback port.
type S3 struct {
	Endpoint       string // host:port, plain HTTP
	Access, Secret string
	Dir            string // the posix backend: one directory per bucket
	cmd            *exec.Cmd
	exited         chan struct{}
}

// VersityGW is the versitygw binary: on $PATH or in $GOPATH/bin (.ci/run
// installs it with go install).
func VersityGW() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		home, _ := os.UserHomeDir()
		gopath = filepath.Join(home, "go")
	}
	p := filepath.Join(gopath, "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("versitygw not found on $PATH or in %s: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0", p)
	}
	return p, nil
}

// StartS3 starts versitygw serving dir on a free loopback port and waits
// until it accepts connections.
func StartS3(dir string) (*S3, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	endpoint := l.Addr().String()
	l.Close()
	s := &S3{Endpoint: endpoint, Access: "mxdesk-test-root", Secret: "mxdesk-test-root-secret-key", Dir: dir}
	return s, s.Start()
}

// Start starts (or restarts, after Stop) the server on its port.
func (s *S3) Start() error {
	bin, err := VersityGW()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	iam := s.Dir + "-iam" // its users (ReadOnlyUser), beside the buckets
	if err := os.MkdirAll(iam, 0o700); err != nil {
		return err
	}
	s.cmd = exec.Command(bin, "--port", s.Endpoint, "--access", s.Access, "--secret", s.Secret, "--iam-dir", iam,
		"--quiet", "--keep-alive", "posix", s.Dir)
	// Its output (a line per request it does not implement) is noise
	// here: the tests check what the client gets.
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	return s.waitUp()
}

// waitUp waits until the port accepts connections (the server is up) or
// the process exited.
func (s *S3) waitUp() error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Endpoint, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw on %s exited at start", s.Endpoint)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw on %s not up after 20s: %v", s.Endpoint, err)
		}
	}
}

// Stop kills the server and waits for it to exit: the S3 endpoint is down
// until Start.
func (s *S3) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
}

// Client is a minio client with the root keys.
func (s *S3) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.Access, s.Secret, ""), BucketLookup: minio.BucketLookupPath, MaxRetries: 1})
}

// MakeBucket creates bucket (an existing one is fine).
func (s *S3) MakeBucket(bucket string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	err = c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{})
	if code := minio.ToErrorResponse(err).Code; code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
		return nil
	}
	return err
}

// ReadOnlyUser adds a user with access key access that may list bucket
// and read its objects, and nothing else (a bucket policy), and returns
// its secret key.
func (s *S3) ReadOnlyUser(access, bucket string) (string, error) {
	bin, err := VersityGW()
	if err != nil {
		return "", err
	}
	secret := access + "-secret-key"
	out, err := exec.Command(bin, "admin", "--access", s.Access, "--secret", s.Secret, "--endpoint-url", "http://"+s.Endpoint,
		"create-user", "--access", access, "--secret", secret, "--role", "user").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("versitygw admin create-user: %v: %s", err, out)
	}
	c, err := s.Client()
	if err != nil {
		return "", err
	}
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[%q]},`+
		`"Action":["s3:ListBucket","s3:GetObject"],"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%[2]s/*"]}]}`, access, bucket)
	return secret, c.SetBucketPolicy(context.Background(), bucket, policy)
}

// CredentialsFile writes an AWS shared-credentials file (mode 0600) with
// the given keys in dir and returns its path.
func CredentialsFile(dir, access, secret string) (string, error) {
	p := filepath.Join(dir, "credentials")
	text := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", access, secret)
	return p, os.WriteFile(p, []byte(text), 0o600)
}

var (
	sharedOnce sync.Once
	shared     *S3
	sharedErr  error
	sharedDir  string
)

// SharedS3 is the test binary's one versitygw, started at first use;
// TestMain stops it with StopSharedS3. A missing binary fails the test:
// the archive is not tested against a mock.
func SharedS3(t testing.TB) *S3 {
	t.Helper()
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "mxdesk-s3-")
		if sharedErr == nil {
			shared, sharedErr = StartS3(sharedDir)
		}
	})
	if sharedErr != nil {
		t.Fatalf("S3 test server: %v", sharedErr)
	}
	return shared
}

// StopSharedS3After stops the shared server (StopSharedS3) and returns
// code: TestMain's os.Exit(testutil.StopSharedS3After(panics.Guard(m.Run()))).
func StopSharedS3After(code int) int {
	StopSharedS3()
	return code
}

// StopSharedS3 stops the shared server, if it was started, and removes its
// directory.
func StopSharedS3() {
	if shared != nil {
		shared.Stop()
	}
	if sharedDir != "" {
		os.RemoveAll(sharedDir)
		os.RemoveAll(sharedDir + "-iam")
	}
}

// ArchiveConfig is an [archive] table for bucket on s (created here),
// with a credentials file holding s's keys, retention days and more
// keys in extra.
func ArchiveConfig(t testing.TB, s *S3, bucket string, days int, extra string) string {
	t.Helper()
	if err := s.MakeBucket(bucket); err != nil {
		t.Fatalf("make bucket %s: %v", bucket, err)
	}
	creds, err := CredentialsFile(t.TempDir(), s.Access, s.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`
[archive]
endpoint = %q
bucket = %q
credentials_file = %q
tls = false
path_style = true
retention_days = %d
%s
`, s.Endpoint, bucket, creds, days, extra)
}

// BucketName is a fresh bucket name for the test.
func BucketName(t testing.TB) string {
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("%s-%d", strings.Trim(name, "-"), time.Now().UnixNano()%1e9)
}
