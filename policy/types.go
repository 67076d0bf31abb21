package policy

import (
	"sort"
	"strings"
)

// Classes of file types. The class decides the wording of the note that
// replaces a blocked part.
const (
	classExecutable = "executable"
	classArchive    = "archive"
	classImage      = "image"
	classVideo      = "video"
	classAudio      = "audio"
	classDocument   = "document"
)

// A fileType is one named type that rules can list: "exe", "zip", "jpeg".
type fileType struct {
	name  string
	class string
	mime  string   // canonical MIME type: shown in notes, matched by families
	mimes []string // MIME types (sniffed or declared) that mean this type; mime first
	exts  []string // file name extensions, without the dot
}

// types lists every type name rules may use. Where two types share a MIME
// type (exe, dll and scr are all Windows PE), the first one listed owns it;
// the file name then tells the others apart.
var types = []fileType{
	// Executables and scripts: what the agent's computer would run.
	{"exe", classExecutable, "application/x-msdownload", []string{"application/vnd.microsoft.portable-executable", "application/x-dosexec", "application/x-msdos-program", "application/x-ms-dos-executable", "application/x-exe", "application/exe", "application/x-winexe"}, []string{"exe"}},
	{"dll", classExecutable, "application/x-msdownload", []string{"application/vnd.microsoft.portable-executable"}, []string{"dll", "ocx", "cpl", "sys", "drv"}},
	{"scr", classExecutable, "application/x-msdownload", []string{"application/vnd.microsoft.portable-executable"}, []string{"scr"}},
	{"com", classExecutable, "application/x-msdos-program", nil, []string{"com", "pif"}},
	{"bat", classExecutable, "application/x-bat", []string{"application/bat", "application/x-msdos-batch"}, []string{"bat"}},
	{"cmd", classExecutable, "application/x-bat", nil, []string{"cmd"}},
	{"ps1", classExecutable, "application/x-powershell", nil, []string{"ps1", "psm1", "psd1"}},
	{"vbs", classExecutable, "application/x-vbscript", []string{"text/vbscript", "text/vbs"}, []string{"vbs", "vbe"}},
	{"js", classExecutable, "text/javascript", []string{"application/javascript", "application/x-javascript", "application/ecmascript", "text/ecmascript"}, []string{"js", "jse", "mjs"}},
	{"wsf", classExecutable, "application/x-wsf", nil, []string{"wsf", "wsh", "wsc", "sct"}},
	{"hta", classExecutable, "application/hta", nil, []string{"hta"}},
	{"lnk", classExecutable, "application/x-ms-shortcut", nil, []string{"lnk", "url"}},
	{"reg", classExecutable, "text/x-ms-regedit", nil, []string{"reg"}},
	{"msi", classExecutable, "application/x-msi", []string{"application/x-ms-installer", "application/x-windows-installer"}, []string{"msi", "msp", "mst", "msix", "appx", "appxbundle"}},
	{"jar", classExecutable, "application/java-archive", []string{"application/jar", "application/jar-archive", "application/x-java-archive"}, []string{"jar"}},
	{"apk", classExecutable, "application/vnd.android.package-archive", nil, []string{"apk"}},
	{"elf", classExecutable, "application/x-elf", []string{"application/x-executable", "application/x-sharedlib", "application/x-object", "application/x-coredump", "application/x-pie-executable"}, []string{"elf", "so"}},
	{"macho", classExecutable, "application/x-mach-binary", nil, []string{"macho", "dylib"}},
	{"sh", classExecutable, "text/x-shellscript", []string{"text/x-sh", "application/x-sh", "application/x-shellscript"}, []string{"sh", "bash"}},
	{"bin", classExecutable, "application/octet-stream", nil, []string{"bin"}},

	// Archives and disk images: containers whose content can't be judged.
	{"zip", classArchive, "application/zip", []string{"application/x-zip", "application/x-zip-compressed", "multipart/x-zip"}, []string{"zip", "zipx"}},
	{"rar", classArchive, "application/vnd.rar", []string{"application/x-rar-compressed", "application/x-rar"}, []string{"rar"}},
	{"7z", classArchive, "application/x-7z-compressed", nil, []string{"7z"}},
	{"gz", classArchive, "application/gzip", []string{"application/x-gzip", "application/x-gunzip", "application/gzipped", "application/gzip-compressed", "application/x-gzip-compressed", "gzip/document"}, []string{"gz", "tgz", "gzip"}},
	{"tar", classArchive, "application/x-tar", nil, []string{"tar"}},
	{"bz2", classArchive, "application/x-bzip2", nil, []string{"bz2", "tbz", "tbz2"}},
	{"xz", classArchive, "application/x-xz", nil, []string{"xz", "txz"}},
	{"zst", classArchive, "application/zstd", nil, []string{"zst"}},
	{"lz", classArchive, "application/lzip", []string{"application/x-lzip"}, []string{"lz"}},
	{"z", classArchive, "application/x-compress", nil, []string{"z"}},
	{"cab", classArchive, "application/vnd.ms-cab-compressed", []string{"application/x-installshield"}, []string{"cab"}},
	{"arj", classArchive, "application/x-arj", nil, []string{"arj"}},
	{"ace", classArchive, "application/x-ace-compressed", nil, []string{"ace"}},
	{"lzh", classArchive, "application/x-lzh-compressed", nil, []string{"lzh", "lha"}},
	{"cpio", classArchive, "application/x-cpio", nil, []string{"cpio"}},
	{"ar", classArchive, "application/x-archive", []string{"application/x-unix-archive"}, []string{"ar", "a"}},
	{"deb", classArchive, "application/vnd.debian.binary-package", nil, []string{"deb"}},
	{"rpm", classArchive, "application/x-rpm", nil, []string{"rpm"}},
	{"xar", classArchive, "application/x-xar", nil, []string{"xar", "pkg"}},
	{"iso", classArchive, "application/x-iso9660-image", nil, []string{"iso"}},
	{"img", classArchive, "application/x-raw-disk-image", nil, []string{"img"}},
	{"vhd", classArchive, "application/x-vhd", []string{"application/x-vhdx"}, []string{"vhd", "vhdx"}},
	{"dmg", classArchive, "application/x-apple-diskimage", nil, []string{"dmg"}},

	// Images, video and audio: SPEC §9 allows these by name; the rest of
	// each family is blocked by default.
	{"jpeg", classImage, "image/jpeg", []string{"image/jpg", "image/pjpeg"}, []string{"jpg", "jpeg", "jpe", "jfif"}},
	{"png", classImage, "image/png", []string{"image/apng", "image/vnd.mozilla.apng"}, []string{"png", "apng"}},
	{"gif", classImage, "image/gif", nil, []string{"gif"}},
	{"tiff", classImage, "image/tiff", nil, []string{"tif", "tiff"}},
	{"webp", classImage, "image/webp", nil, []string{"webp"}},
	{"raw", classImage, "image/x-dcraw", []string{"image/x-adobe-dng", "image/dng", "image/x-canon-cr2", "image/x-canon-cr3", "image/x-canon-crw", "image/x-nikon-nef", "image/x-nikon-nrw", "image/x-sony-arw", "image/x-sony-sr2", "image/x-sony-srf", "image/x-olympus-orf", "image/x-panasonic-rw2", "image/x-fuji-raf", "image/x-pentax-pef", "image/x-samsung-srw", "image/x-sigma-x3f"}, []string{"dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "sr2", "srf", "orf", "rw2", "raf", "pef", "srw", "x3f", "erf", "kdc", "mrw", "3fr", "rwl", "iiq"}},
	{"bmp", classImage, "image/bmp", []string{"image/x-bmp", "image/x-ms-bmp"}, []string{"bmp", "dib"}},
	{"svg", classImage, "image/svg+xml", nil, []string{"svg", "svgz"}},
	{"heic", classImage, "image/heic", []string{"image/heic-sequence", "image/heif", "image/heif-sequence"}, []string{"heic", "heif"}},
	{"avif", classImage, "image/avif", nil, []string{"avif"}},
	{"ico", classImage, "image/x-icon", []string{"image/vnd.microsoft.icon"}, []string{"ico"}},
	{"psd", classImage, "image/vnd.adobe.photoshop", []string{"image/x-psd", "application/photoshop"}, []string{"psd"}},
	{"mp4", classVideo, "video/mp4", []string{"video/x-m4v"}, []string{"mp4", "m4v"}},
	{"mov", classVideo, "video/quicktime", nil, []string{"mov", "qt"}},
	{"avi", classVideo, "video/x-msvideo", []string{"video/avi", "video/msvideo"}, []string{"avi"}},
	{"wmv", classVideo, "video/x-ms-wmv", []string{"video/x-ms-asf", "video/asf"}, []string{"wmv", "asf"}},
	{"webm", classVideo, "video/webm", []string{"audio/webm"}, []string{"webm"}},
	{"mkv", classVideo, "video/matroska", []string{"video/x-matroska"}, []string{"mkv"}},
	{"3gp", classVideo, "video/3gpp", []string{"video/3gp", "audio/3gpp", "video/3gpp2", "video/3g2", "audio/3gpp2"}, []string{"3gp", "3g2"}},
	{"mp3", classAudio, "audio/mpeg", []string{"audio/x-mpeg", "audio/mp3", "audio/mpeg3"}, []string{"mp3"}},
	{"wav", classAudio, "audio/wav", []string{"audio/x-wav", "audio/vnd.wave", "audio/wave"}, []string{"wav"}},
	{"m4a", classAudio, "audio/mp4", []string{"audio/x-m4a", "audio/x-mp4a"}, []string{"m4a"}},
	{"ogg", classAudio, "audio/ogg", []string{"application/ogg", "application/x-ogg", "video/ogg"}, []string{"ogg", "oga", "ogv", "opus"}},
	{"aac", classAudio, "audio/aac", nil, []string{"aac"}},
	{"flac", classAudio, "audio/flac", nil, []string{"flac"}},

	// Documents: allowed anyway; named so rules can list them. DWG, DXF
	// and DjVu are documents although their MIME types say image/.
	{"pdf", classDocument, "application/pdf", []string{"application/x-pdf"}, []string{"pdf"}},
	{"doc", classDocument, "application/msword", []string{"application/vnd.ms-word"}, []string{"doc", "dot"}},
	{"docx", classDocument, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", nil, []string{"docx", "dotx"}},
	{"docm", classDocument, "application/vnd.ms-word.document.macroenabled.12", nil, []string{"docm", "dotm"}},
	{"xls", classDocument, "application/vnd.ms-excel", []string{"application/msexcel"}, []string{"xls", "xlt"}},
	{"xlsx", classDocument, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", nil, []string{"xlsx", "xltx"}},
	{"xlsm", classDocument, "application/vnd.ms-excel.sheet.macroenabled.12", nil, []string{"xlsm", "xltm"}},
	{"ppt", classDocument, "application/vnd.ms-powerpoint", []string{"application/mspowerpoint"}, []string{"ppt", "pps"}},
	{"pptx", classDocument, "application/vnd.openxmlformats-officedocument.presentationml.presentation", nil, []string{"pptx", "ppsx"}},
	{"pptm", classDocument, "application/vnd.ms-powerpoint.presentation.macroenabled.12", nil, []string{"pptm", "ppsm"}},
	{"odt", classDocument, "application/vnd.oasis.opendocument.text", nil, []string{"odt"}},
	{"ods", classDocument, "application/vnd.oasis.opendocument.spreadsheet", nil, []string{"ods"}},
	{"odp", classDocument, "application/vnd.oasis.opendocument.presentation", nil, []string{"odp"}},
	{"epub", classDocument, "application/epub+zip", nil, []string{"epub"}},
	{"rtf", classDocument, "text/rtf", []string{"application/rtf"}, []string{"rtf"}},
	{"txt", classDocument, "text/plain", nil, []string{"txt", "text", "log"}},
	{"csv", classDocument, "text/csv", nil, []string{"csv"}},
	{"html", classDocument, "text/html", []string{"application/xhtml+xml"}, []string{"html", "htm", "xhtml"}},
	{"xml", classDocument, "text/xml", []string{"application/xml"}, []string{"xml"}},
	{"json", classDocument, "application/json", nil, []string{"json"}},
	{"ics", classDocument, "text/calendar", nil, []string{"ics"}},
	{"vcf", classDocument, "text/vcard", []string{"text/x-vcard"}, []string{"vcf"}},
	{"eml", classDocument, "message/rfc822", []string{"message/global"}, []string{"eml"}},
	{"msg", classDocument, "application/vnd.ms-outlook", nil, []string{"msg"}},
	{"p7s", classDocument, "application/pkcs7-signature", []string{"application/x-pkcs7-signature"}, []string{"p7s"}},
	{"dwg", classDocument, "image/vnd.dwg", []string{"image/x-dwg", "application/acad", "application/x-acad", "application/autocad_dwg", "application/dwg", "application/x-dwg", "application/x-autocad", "drawing/dwg"}, []string{"dwg"}},
	{"dxf", classDocument, "image/vnd.dxf", nil, []string{"dxf"}},
	{"djvu", classDocument, "image/vnd.djvu", nil, []string{"djvu", "djv"}},
}

// Lookup tables built from types.
var (
	typeByName = map[string]*fileType{} // type names and extensions
	typeByExt  = map[string]*fileType{}
	typeByMIME = map[string]*fileType{}
)

func init() {
	for i := range types {
		t := &types[i]
		typeByName[t.name] = t
		for _, m := range append([]string{t.mime}, t.mimes...) {
			if typeByMIME[m] == nil {
				typeByMIME[m] = t
			}
		}
		for _, e := range t.exts {
			typeByExt[e] = t
		}
	}
	for e, t := range typeByExt {
		if typeByName[e] == nil {
			typeByName[e] = t
		}
	}
}

// TypeNames returns the type names Rules may use, sorted. Extensions of
// these types ("jpg", "tif") are accepted as well.
func TypeNames() []string {
	names := make([]string, len(types))
	for i, t := range types {
		names[i] = t.name
	}
	sort.Strings(names)
	return names
}

// has reports whether t is known by MIME type m.
func (t *fileType) has(m string) bool {
	if t.mime == m {
		return true
	}
	for _, x := range t.mimes {
		if x == m {
			return true
		}
	}
	return false
}

// lookupName finds a type by its name or one of its extensions ("jpg"),
// with or without a leading dot, in any case.
func lookupName(s string) *fileType {
	return typeByName[strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s)), ".")]
}
