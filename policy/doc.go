// Package policy applies the content policy of SPEC §9 to inbound mail:
// which attachments an agent may receive, how many and how large, and
// the virus scan. Inspect walks a message's MIME tree and returns the
// message the agent sees, with every removed part replaced by a visible
// note; the caller keeps the original in quarantine whenever something
// was removed. Nothing is dropped in silence.
//
// # What an attachment is
//
// Every part that is not a multipart or an attached message and is not
// a text body part: a part with a file name, or marked
// "Content-Disposition: attachment", or whose type is not text/*. Text
// body parts (text/plain, text/html without a name) are not judged,
// counted or scanned. Attached messages (message/rfc822, message/global,
// and attachments named .eml or sniffing as a message) are opened and
// their parts inspected like the message's own; they don't count as
// attachments themselves.
//
// # Default rules (DefaultRules)
//
// Blocked: executables and scripts (exe, dll, scr, com, bat, cmd, ps1,
// vbs, js, wsf, hta, lnk, reg, msi, jar, apk, ELF, Mach-O, sh, and
// "bin": unidentified binary content named .bin or with no extension);
// archives and disk images (zip, rar, 7z, gz, tar, bz2, xz, zst, lz, Z,
// cab, arj, ace, lzh, cpio, ar, deb, rpm, xar, iso, img, vhd, dmg); and
// every image, video and audio format except the ones SPEC §9 allows:
// images JPEG, PNG, GIF, TIFF, camera RAW, WebP; video MP4, MOV, AVI,
// WMV, WebM; audio MP3, WAV. So SVG, BMP, HEIC, M4A and the like are
// blocked unless allowed. Every other type is a document and allowed
// (PDF, office files with or without macros, text, HTML, ...), including
// DWG, DXF and DjVu drawings although their MIME types say image/.
//
// In Rules, the most specific entry decides: a type name or MIME type
// beats a family ("image/*"), which beats "*/*"; Block wins a tie (and
// Validate reports an entry listed in both); a type nothing matches is
// allowed. TypeNames lists the type names; Inspect ignores entries
// Validate rejects.
//
// # How a part's type is judged
//
// Its content is decoded (forgivingly, as mail clients do) and sniffed
// with mimetype, with ZIP files opened to tell office documents (docx,
// xlsx, pptx, their macro-enabled variants, OpenDocument, EPUB) from
// Java and Android packages and plain archives.
//
//   - Content wins over the name and the declared Content-Type: a
//     "report.pdf" that sniffs as a Windows executable is blocked as exe;
//     a ZIP archive named "photo.jpg" is blocked as zip.
//   - The file name is judged too, and the part is blocked if either
//     reading is: the name decides what the agent's computer does with a
//     saved file (a PNG named "x.bat" would be run by cmd.exe). Every
//     name counts: Content-Disposition filename and Content-Type name,
//     each read strictly and leniently (RFC 2047, RFC 2231 in any
//     charset, continuations, duplicates), the extension as Windows reads
//     it (trailing dots and spaces ignored).
//   - Content that sniffs as plain text or unidentified binary has no
//     type of its own: it is judged by its names. So a part that sniffs
//     as text and carries a script extension (.bat, .cmd, .ps1, .vbs,
//     .js, ...) is blocked. With no telling name, the declared
//     Content-Type decides; with none, unidentified binary without an
//     extension is "bin" (blocked), text is "txt".
//
// # Limits
//
// MaxAttachments (10; 0 keeps none) and MaxAttachmentBytes (25 MiB of
// decoded content, in total): attachments are taken in message order
// and each one that would pass a limit is removed and replaced by a
// note; blocked and infected attachments don't count, and neither do
// inline images (a part of a multipart/related with a Content-ID, not
// marked as an attachment: signatures and newsletters carry many),
// which are still judged and scanned. The message is not refused.
//
// MaxDepth (20 levels of multiparts and attached messages), MaxParts
// (1000 MIME parts in all), MaxHeaders (1000 fields) and MaxHeaderBytes
// (64 KiB) per part: over them Inspect returns a *LimitError and the
// SMTP layer refuses the message at DATA with a permanent error naming
// the key ("policy.max_depth", "policy.max_parts", "policy.max_headers",
// "policy.max_header_bytes"). Headers are measured before they are
// parsed, so none of this costs more than reading the message a few
// times.
//
// # Malformed MIME
//
// Inspect never panics on any input. What can't be read is removed with
// a note, never passed on unjudged: a multipart without a boundary or
// whose parts can't be found, the rest of a multipart from a part whose
// header can't be parsed, an attached message whose header can't be
// parsed, a part with two different Content-Type,
// Content-Transfer-Encoding or Content-Disposition fields. A missing
// closing delimiter just ends the last part. A part with an
// unparseable Content-Type (its type read up to the first ";") or an
// unknown transfer encoding (its content taken as is) is judged like any
// other, by sniffing its content. A message whose own header can't be
// parsed is an error wrapping ErrMalformed: refused at DATA.
//
// # Rewriting
//
// When nothing is removed, Result.Clean is the message as it arrived,
// byte for byte (DKIM signatures stay valid). Otherwise only the
// multiparts that hold a removed part are written again: same header,
// same boundary and preamble, kept parts copied byte for byte, the
// epilogue dropped. An attached message that changed is encoded again in
// its transfer encoding. A note keeps the removed part's non-Content-
// header fields and is an inline text/plain part:
//
//	[mxdesk removed attachment "invoice.exe" (application/x-msdownload): executable files are not accepted. The original is kept in quarantine.]
//
// # Virus scan
//
// With a Scanner, every attachment that passes the type and limit
// checks is streamed to it, decoded, before the message reaches an
// agent; an infected one is removed like a blocked one. A scanner that
// fails (clamd down, timing out) makes Inspect return an error wrapping
// ErrScanUnavailable: the caller answers 451 and the sender retries;
// mail never passes unscanned. An attachment larger than the scanner
// accepts (ErrScanTooLarge: clamd's StreamMaxLength) is removed. Clamd is
// the ClamAV client (zINSTREAM, zPING).
//
// # Not covered
//
// Containers other than messages are not opened: archives are blocked
// whole; Outlook .msg and TNEF (winmail.dat) attachments, and files
// embedded in documents, are left to the virus scanner. Text body parts
// are not judged (a uuencoded file inside one passes). HTML attachments
// are documents. Content starting with "MZ" is taken for a Windows
// executable, as mimetype does.
package policy
