package archive

import (
	"fmt"
	"path"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// ManifestName is the object written last in a session's folder: its
// presence says every other object of the folder was written.
const ManifestName = "manifest.json"

// Object names in a session's folder besides the messages.
const (
	TranscriptName = "transcript.pdf"
	MetadataName   = "metadata.json"
)

// Manifest lists a session's objects with their SHA-256, and keeps what
// restore needs to bring the session back (the session record, its events
// and where its messages were filed).
type Manifest struct {
	Version    int
	Session    store.Session
	ArchivedAt time.Time
	Objects    []Object
	Messages   []ArchivedMessage
	Events     []store.Event
}

// Object is one object of a session's folder.
type Object struct {
	Name   string // relative to the folder
	Size   int64
	SHA256 string // hex
}

// ArchivedMessage is one message of the session: its .eml object and
// where it was filed.
type ArchivedMessage struct {
	Name         string
	InternalDate time.Time
	Folders      []string
}

// folder is the session's folder in the bucket:
// <prefix>/<queue>/<yyyy>/<mm>/<session-id>/, with the prefix's variables
// replaced. The month is the session's creation month, which never
// changes: a restored session archived again lands in the same folder.
func folder(cfg *config.Config, s store.Session) string {
	yyyy, mm := fmt.Sprintf("%04d", s.Created.UTC().Year()), fmt.Sprintf("%02d", int(s.Created.UTC().Month()))
	prefix := strings.NewReplacer("{queue}", s.Queue, "{domain}", cfg.QueueDomain(s.Queue),
		"{yyyy}", yyyy, "{mm}", mm).Replace(cfg.Archive.Prefix)
	return path.Join(prefix, s.Queue, yyyy, mm, s.ID) + "/"
}

// messageName is the object name of the i-th message (from 0), in
// arrival order.
func messageName(i int) string { return fmt.Sprintf("%04d.eml", i+1) }

// location is the folder as operators write it: s3://bucket/folder.
func location(bucket, folder string) string { return "s3://" + bucket + "/" + folder }
