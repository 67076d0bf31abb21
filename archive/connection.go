package archive

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"

	"mxdesk/config"
)

// TestConnection writes, reads back and deletes a probe object in the
// bucket of a, and returns one line per failure, each naming the config
// key it is about (none: the archive works).
func TestConnection(ctx context.Context, a config.Archive) []string {
	if !a.Enabled() {
		return []string{"archive.bucket: not set: the archive is off"}
	}
	b, err := Open(a)
	if err != nil {
		return []string{err.Error()}
	}
	if problem := resolve(ctx, a.Endpoint); problem != "" {
		return []string{problem}
	}
	if err := listOne(ctx, b); err != nil {
		return []string{explain(a, "list the bucket", err)}
	}
	return probe(ctx, a, b)
}

// listOne lists at most one object: a GET, whose error answer says what
// is wrong (a HEAD's 403 can't tell a wrong key from a missing
// permission).
func listOne(ctx context.Context, b *Bucket) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for o := range b.client.ListObjects(ctx, b.name, minio.ListObjectsOptions{MaxKeys: 1}) {
		return o.Err
	}
	return nil
}

// resolve checks that the endpoint's host name resolves.
func resolve(ctx context.Context, endpoint string) string {
	host, _, err := net.SplitHostPort(endpoint)
	if err != nil {
		host = endpoint
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
		return fmt.Sprintf("archive.endpoint: DNS: %s does not resolve: %v", host, err)
	}
	return ""
}

// probe writes, reads back and deletes one object under the prefix.
func probe(ctx context.Context, a config.Archive, b *Bucket) []string {
	prefix, _, _ := strings.Cut(a.Prefix, "{")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	name := prefix + "mxdesk-test-connection-" + randomHex(8)
	data := []byte("mxdesk archive test-connection probe\n")
	if err := b.put(ctx, name, data); err != nil {
		return []string{explain(a, "write a probe object", err)}
	}
	var problems []string
	back, err := b.get(ctx, name)
	switch {
	case err != nil:
		problems = append(problems, explain(a, "read the probe object back", err))
	case !bytes.Equal(back, data):
		problems = append(problems, fmt.Sprintf("archive.endpoint: the probe object %s read back differs from what was written", name))
	}
	if err := b.remove(ctx, name); err != nil {
		problems = append(problems, explain(a, "delete the probe object "+name, err))
	}
	return problems
}

// keyRefused are the error codes of a key the server does not accept: AWS
// and MinIO, GCS (InvalidClientTokenId), versitygw (XAdminUserNotFound).
var keyRefused = []string{"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "XAdminUserNotFound"}

// explain turns a failed request into one line naming the key to fix.
func explain(a config.Archive, what string, err error) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var record tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch code := errorCode(err); {
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &certErr):
		return fmt.Sprintf("archive.endpoint: TLS: the certificate of %s is not trusted: %v", a.Endpoint, err)
	case errors.As(err, &record) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Sprintf("archive.tls: TLS: %s does not speak TLS (archive.tls = false is only for a loopback endpoint without TLS)", a.Endpoint)
	case slices.Contains(keyRefused, code):
		return fmt.Sprintf("archive.credentials_file: %s refused the key in %s (%s): could not %s", a.Endpoint, a.CredentialsFile, code, what)
	case code == "AccessDenied":
		return fmt.Sprintf("archive.credentials_file: the key in %s has no permission to %s in bucket %q (AccessDenied): grant it s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket",
			a.CredentialsFile, what, a.Bucket)
	case code == "NoSuchBucket":
		return fmt.Sprintf("archive.bucket: bucket %q does not exist at %s (create it, or fix the name)", a.Bucket, a.Endpoint)
	case code == "AuthorizationHeaderMalformed" || code == "InvalidRegion" || code == "PermanentRedirect":
		return fmt.Sprintf("archive.region: %s refused region %q (%s): could not %s", a.Endpoint, a.Region, code, what)
	case code != "":
		return fmt.Sprintf("archive.endpoint: %s answered %s to %s: %v", a.Endpoint, code, what, err)
	}
	return fmt.Sprintf("archive.endpoint: could not %s at %s: %v", what, a.Endpoint, err)
}

// errorCode is the S3 error code in err ("AccessDenied"), or "".
func errorCode(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
