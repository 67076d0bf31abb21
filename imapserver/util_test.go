package imapserver_test

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appendMsg appends raw to a folder and returns its APPENDUID data.
func appendMsg(t *testing.T, c *client, folder, raw string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(folder, int64(len(raw)), opts)
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	d, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND %s: %v", folder, err)
	}
	return d
}

type imapFetch = imapclient.FetchMessageBuffer

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
