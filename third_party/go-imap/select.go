package imap

// SelectOptions contains options for the SELECT or EXAMINE command.
type SelectOptions struct {
	ReadOnly  bool
	CondStore bool // requires CONDSTORE

	// mxdesk: the server side of SELECT's QRESYNC parameter (RFC 7162
	// 3.2.5); upstream had none.
	QResync *SelectQResync // requires QRESYNC
}

// SelectQResync is what a client knows of a mailbox it selects with
// QRESYNC: the mailbox's UIDVALIDITY and HIGHESTMODSEQ when it last
// synchronized, optionally the UIDs it knows and sequence numbers with
// their UIDs. (mxdesk)
type SelectQResync struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   UIDSet // nil: all of them
	SeqMatch    *SelectQResyncSeqMatch
}

// SelectQResyncSeqMatch pairs message sequence numbers with the UIDs the
// client had for them. (mxdesk)
type SelectQResyncSeqMatch struct {
	SeqNums SeqSet
	UIDs    UIDSet
}

// SelectData is the data returned by a SELECT command.
//
// In the old RFC 2060, PermanentFlags, UIDNext and UIDValidity are optional.
type SelectData struct {
	// Flags defined for this mailbox
	Flags []Flag
	// Flags that the client can change permanently
	PermanentFlags []Flag
	// Number of messages in this mailbox (aka. "EXISTS")
	NumMessages uint32
	// Sequence number of the first unseen message. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	FirstUnseenSeqNum uint32
	// Number of recent messages in this mailbox. Obsolete, IMAP4rev1 only.
	// Server-only, not supported in imapclient.
	NumRecent   uint32
	UIDNext     UID
	UIDValidity uint32

	List *ListData // requires IMAP4rev2

	HighestModSeq uint64 // requires CONDSTORE
}
