package policy

// CheckFile judges a file mxdesk sends itself (an auto-reply's attachment
// or inline image) the way Inspect judges an inbound attachment: by its
// sniffed content and its name. It returns the MIME type to send it as
// and, when the rules block it, the label of the blocked type ("" when
// allowed).
func (r Rules) CheckFile(name string, content []byte) (mimeType, blocked string) {
	jm := judge(content, []string{name}, "")
	rs := compile(r)
	mimeType = jm.readings[0].primary()
	if j, ok := jm.blockedBy(&rs); ok {
		return mimeType, j.label()
	}
	return mimeType, ""
}
