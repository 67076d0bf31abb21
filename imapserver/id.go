package imapserver

import (
	"runtime/debug"
	"strings"
	"unicode"

	"github.com/emersion/go-imap/v2"
)

// serverName is what ID answers as the server's name.
const serverName = "mxdesk"

// maxClientIDLen bounds each client-sent ID value kept in the log: the
// client controls them (RFC 2971 allows 1024 bytes each).
const maxClientIDLen = 64

// ID answers ID (RFC 2971) with mxdesk's name, and its version once the
// client has logged in (an anonymous peer learns no version to target).
// The first ID of a connection is logged with the client's name and
// version, which then tag every later log line of the connection.
func (s *session) ID(client *imap.IDData) *imap.IDData {
	if client != nil && s.clientID == "" {
		s.clientID = clientIDString(client)
		s.log = s.log.With("client", s.clientID)
		if osName := sanitizeIDValue(client.OS); osName != "" {
			s.log.Info("client identified", "os", osName)
		} else {
			s.log.Info("client identified")
		}
	}
	data := &imap.IDData{Name: serverName}
	if s.agent != nil {
		data.Version = serverVersion()
	}
	return data
}

// clientIDString is "name/version" of a client's ID, sanitized.
func clientIDString(d *imap.IDData) string {
	name := sanitizeIDValue(d.Name)
	if name == "" {
		name = "unnamed"
	}
	if v := sanitizeIDValue(d.Version); v != "" {
		return name + "/" + v
	}
	return name
}

// sanitizeIDValue makes a client-sent value safe for a log line: printable
// characters only (others become '?'), at most maxClientIDLen runes.
func sanitizeIDValue(v string) string {
	var b strings.Builder
	n := 0
	for _, r := range v {
		if n == maxClientIDLen {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// serverVersion is the mxdesk module version the binary was built from
// ("devel" for a build from a work tree).
func serverVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
