package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"mxdesk/config"
)

// Bucket is the archive's bucket, reached with the [archive] settings.
type Bucket struct {
	client *minio.Client
	name   string
}

// maxRetries bounds minio's own retries of one request: a run that finds
// the bucket down fails quickly and is tried again at the next one.
const maxRetries = 3

// requestTimeout bounds one request (a message is at most
// smtp.max_message_bytes).
const requestTimeout = 5 * time.Minute

// Open returns the bucket of a (no request is made). Credential errors
// name archive.credentials_file.
func Open(a config.Archive) (*Bucket, error) {
	creds, err := readCredentials(a.CredentialsFile)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if a.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(a.Endpoint, &minio.Options{
		Creds: creds, Secure: a.UseTLS(), Region: a.Region, BucketLookup: lookup,
		MaxRetries: maxRetries, Transport: transport(),
	})
	if err != nil {
		return nil, fmt.Errorf("archive.endpoint %q: %w", a.Endpoint, err)
	}
	return &Bucket{client: client, name: a.Bucket}, nil
}

func transport() http.RoundTripper {
	t, err := minio.DefaultTransport(true)
	if err != nil {
		return http.DefaultTransport
	}
	t.ResponseHeaderTimeout = requestTimeout
	return t
}

// readCredentials reads the [default] keys of the AWS shared-credentials
// file path.
func readCredentials(path string) (*credentials.Credentials, error) {
	creds := credentials.NewFileAWSCredentials(path, "default")
	v, err := creds.GetWithContext(&credentials.CredContext{})
	if err != nil {
		return nil, fmt.Errorf("archive.credentials_file %s: %w", path, err)
	}
	if v.AccessKeyID == "" || v.SecretAccessKey == "" {
		return nil, fmt.Errorf("archive.credentials_file %s: no [default] section with aws_access_key_id and aws_secret_access_key", path)
	}
	return creds, nil
}

// put writes one object; the server checks its Content-MD5, so a body
// damaged on the way is refused, not stored.
func (b *Bucket) put(ctx context.Context, name string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	_, err := b.client.PutObject(ctx, b.name, name, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{SendContentMd5: true, DisableMultipart: true, ContentType: contentType(name)})
	if err != nil {
		return fmt.Errorf("write s3://%s/%s: %w", b.name, name, err)
	}
	return nil
}

// putAll writes the objects of a folder in order, and returns the bytes
// written. Writing them again writes the same bytes: a run that stopped
// half way is simply run again.
func (b *Bucket) putAll(ctx context.Context, dir string, objects []object) (int64, error) {
	var n int64
	for _, o := range objects {
		if err := b.put(ctx, dir+o.name, o.data); err != nil {
			return n, err
		}
		n += int64(len(o.data))
	}
	return n, nil
}

// putVerified writes an object and reads it back: the confirmation that
// lets the store forget what it holds.
func (b *Bucket) putVerified(ctx context.Context, name string, data []byte) error {
	if err := b.put(ctx, name, data); err != nil {
		return err
	}
	back, err := b.get(ctx, name)
	if err != nil {
		return err
	}
	if !bytes.Equal(back, data) {
		return fmt.Errorf("read back s3://%s/%s: it differs from what was written", b.name, name)
	}
	return nil
}

// get reads one object whole.
func (b *Bucket) get(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	obj, err := b.client.GetObject(ctx, b.name, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", b.name, name, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", b.name, name, err)
	}
	return data, nil
}

// remove deletes one object.
func (b *Bucket) remove(ctx context.Context, name string) error {
	return b.client.RemoveObject(ctx, b.name, name, minio.RemoveObjectOptions{})
}

// findFolder looks for the folder of session id under prefix (restore
// of a session the store kept no record of).
func (b *Bucket) findFolder(ctx context.Context, prefix, id string) (string, error) {
	want := "/" + id + "/" + ManifestName
	for o := range b.client.ListObjects(ctx, b.name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return "", fmt.Errorf("list s3://%s/%s: %w", b.name, prefix, o.Err)
		}
		if strings.HasSuffix(o.Key, want) {
			return strings.TrimSuffix(o.Key, ManifestName), nil
		}
	}
	return "", errNoFolder
}

var errNoFolder = errors.New("no archived folder")

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".eml"):
		return "message/rfc822"
	case strings.HasSuffix(name, ".pdf"):
		return "application/pdf"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	}
	return "application/octet-stream"
}
