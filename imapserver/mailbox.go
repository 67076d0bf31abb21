package imapserver

import (
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/router"
	"mxdesk/store"
)

// Create makes a personal folder (RFC 3501 6.3.3). A trailing delimiter only
// declares the intent to create children, so it is dropped.
func (s *session) Create(name string, opts *imap.CreateOptions) (err error) {
	defer s.guard("CREATE", &err)
	if opts != nil && len(opts.SpecialUse) > 0 {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Special-use folders are fixed"}
	}
	name = strings.TrimSuffix(name, string(router.Delimiter))
	if err := s.srv.r.CreateFolder(s.ctx, s.agent, name); err != nil {
		return s.routerErr(err, srcFolder)
	}
	s.log.Info("folder created", "folder", name)
	return nil
}

// Delete removes a personal folder (RFC 3501 6.3.4).
func (s *session) Delete(name string) (err error) {
	defer s.guard("DELETE", &err)
	if err := s.srv.r.DeleteFolder(s.ctx, s.agent, name); err != nil {
		return s.routerErr(err, srcFolder)
	}
	s.log.Info("folder deleted", "folder", name)
	return nil
}

// Rename renames a personal folder and its children (RFC 3501 6.3.5).
func (s *session) Rename(from, to string, _ *imap.RenameOptions) (err error) {
	defer s.guard("RENAME", &err)
	to = strings.TrimSuffix(to, string(router.Delimiter))
	if err := s.srv.r.RenameFolder(s.ctx, s.agent, from, to); err != nil {
		return s.routerErr(err, srcFolder)
	}
	s.log.Info("folder renamed", "from", from, "to", to)
	return nil
}

// Subscribe adds a folder to the agent's subscriptions (RFC 3501 6.3.6).
func (s *session) Subscribe(name string) (err error) {
	defer s.guard("SUBSCRIBE", &err)
	return s.setSubscribed(name, true)
}

// Unsubscribe removes a folder from them (RFC 3501 6.3.7).
func (s *session) Unsubscribe(name string) (err error) {
	defer s.guard("UNSUBSCRIBE", &err)
	return s.setSubscribed(name, false)
}

func (s *session) setSubscribed(name string, on bool) error {
	if err := s.srv.r.SetSubscribed(s.ctx, s.agent, name, on); err != nil {
		return s.routerErr(err, srcFolder)
	}
	return nil
}

// Status answers STATUS (RFC 3501 6.3.10, RFC 8438 SIZE, RFC 9051 DELETED).
func (s *session) Status(name string, opts *imap.StatusOptions) (data *imap.StatusData, err error) {
	defer s.guard("STATUS", &err)
	f, err := s.srv.r.Folder(s.agent, name)
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	if f.Mailbox == 0 {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Folder is not selectable"}
	}
	return s.status(f, opts)
}

// status computes the STATUS data of a selectable folder (also for LIST
// RETURN (STATUS), RFC 5819).
func (s *session) status(f router.Folder, opts *imap.StatusOptions) (*imap.StatusData, error) {
	var (
		mb   store.Mailbox
		msgs []store.Message
	)
	err := s.srv.r.View(func(rd store.Reader) error {
		var err error
		if mb, err = rd.Mailbox(f.Mailbox); err != nil {
			return err
		}
		if needsMessages(opts) {
			msgs, err = rd.Messages(f.Mailbox, 1, 0)
		}
		return err
	})
	if err != nil {
		return nil, s.routerErr(err, srcFolder)
	}
	data := &imap.StatusData{Mailbox: f.Name, UIDNext: imap.UID(mb.UIDNext), UIDValidity: mb.UIDValidity, HighestModSeq: mb.HighestModSeq}
	var (
		num, unseen, deleted, recent uint32
		size, deletedSize            int64
	)
	recentFrom := max(mb.RecentUID, s.srv.hub.claimedMark(f.Mailbox))
	for _, m := range msgs {
		num++
		size += m.Size
		if !hasFlag(m.Flags, imap.FlagSeen) {
			unseen++
		}
		if hasFlag(m.Flags, imap.FlagDeleted) {
			deleted++
			deletedSize += m.Size
		}
		if m.UID >= recentFrom && !f.ReadOnly {
			recent++
		}
	}
	limit := s.AppendLimit()
	data.NumMessages, data.NumUnseen, data.NumDeleted, data.NumRecent = &num, &unseen, &deleted, &recent
	data.Size, data.DeletedStorage, data.AppendLimit = &size, &deletedSize, &limit
	return data, nil
}

func needsMessages(o *imap.StatusOptions) bool {
	return o.NumMessages || o.NumUnseen || o.NumDeleted || o.NumRecent || o.Size || o.DeletedStorage
}

// claimedMark is the in-memory \Recent claim mark of a selected mailbox, 0
// when nobody has it selected.
func (h *hub) claimedMark(id store.MailboxID) store.UID {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v := h.views[id]; v != nil {
		return v.claimed
	}
	return 0
}

// Append stores a message (RFC 3501 6.3.11) and returns its APPENDUID
// (RFC 4315). The library already refused literals over AppendLimit.
func (s *session) Append(name string, r imap.LiteralReader, opts *imap.AppendOptions) (data *imap.AppendData, err error) {
	defer s.guard("APPEND", &err)
	limit := int64(s.AppendLimit())
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too big"}
	}
	flags, err := storeFlags(opts.Flags)
	if err != nil {
		return nil, err
	}
	mb, uid, err := s.srv.r.Append(s.ctx, s.agent, name, raw, flags, opts.Time)
	if err != nil {
		return nil, s.routerErr(err, destFolder)
	}
	s.log.Info("appended", "folder", mb.Name, "uid", uid, "size", len(raw))
	return &imap.AppendData{UID: imap.UID(uid), UIDValidity: mb.UIDValidity}, nil
}

// AppendMulti stores the messages of one APPEND (MULTIAPPEND, RFC 3502)
// in one transaction, all or none, and returns their APPENDUID set. The
// library already bounded their total size by AppendLimit.
func (s *session) AppendMulti(name string, msgs []imapserver.AppendMessage) (data *imapserver.MultiAppendData, err error) {
	defer s.guard("APPEND", &err)
	batch := make([]router.AppendMessage, len(msgs))
	size := 0
	for i, m := range msgs {
		flags, err := storeFlags(m.Options.Flags)
		if err != nil {
			return nil, err
		}
		batch[i] = router.AppendMessage{Raw: m.Data, Flags: flags, Date: m.Options.Time}
		size += len(m.Data)
	}
	mb, uids, err := s.srv.r.AppendMany(s.ctx, s.agent, name, batch)
	if err != nil {
		return nil, s.routerErr(err, destFolder)
	}
	s.log.Info("appended", "folder", mb.Name, "count", len(uids), "size", size)
	data = &imapserver.MultiAppendData{UIDValidity: mb.UIDValidity}
	for _, uid := range uids {
		data.UIDs = append(data.UIDs, imap.UID(uid))
	}
	return data, nil
}

// storeFlags converts flags a client sent (STORE, APPEND) for the router.
// \Recent is the server's to set (RFC 3501 2.3.2) and so are the session
// status keywords ($Active, ...): they are dropped. \* and unknown system
// flags are refused.
func storeFlags(flags []imap.Flag) ([]string, error) {
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		switch {
		case strings.EqualFold(string(f), string(flagRecent)), isStatusKeywordFold(string(f)):
			continue
		case isKeyword(string(f)):
		case !isSystemFlag(f):
			return nil, &imap.Error{Type: imap.StatusResponseTypeBad, Code: imap.ResponseCodeClientBug, Text: "Unknown system flag " + string(f)}
		}
		out = append(out, string(f))
	}
	return out, nil
}

// isStatusKeywordFold is router.IsStatusKeyword in any case: clients treat
// keywords case-insensitively, so "$active" must not pose as a status.
func isStatusKeywordFold(f string) bool {
	for _, st := range router.Statuses {
		if strings.EqualFold(f, router.StatusKeyword(st)) {
			return true
		}
	}
	return false
}

func isSystemFlag(f imap.Flag) bool {
	for _, sf := range systemFlags {
		if f == sf {
			return true
		}
	}
	return false
}
