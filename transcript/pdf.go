package transcript

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders for inline images
	"image/jpeg"
	_ "image/png"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/draw"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// The PDF's fonts are the Go fonts, embedded in the binary: they cover
// Latin, Greek and Cyrillic; or the one font of crm.pdf_font
// (SetPDFFont). Characters the fonts lack (with the Go fonts: CJK,
// Arabic, emoji) are written as '?' rather than left to break the
// document.
const (
	fontText = "go"
	fontMono = "gomono"
)

// Page layout, in millimetres.
const (
	pageMargin     = 15.0
	lineHeight     = 4.6
	maxImageWidth  = 90.0
	maxImageHeight = 70.0
	// maxImagePixels bounds an inline image's decoded size (a small file
	// can claim a huge picture).
	maxImagePixels = 4000 * 4000
	// imageWidthPixels is the width images are scaled down to before they
	// are embedded.
	imageWidthPixels = 800
)

// MaxPDFText bounds the text a PDF lays out (about 300 ms and 250 MB of
// allocations at the limit, see docs/performance.md): messages past it
// are named in a note, and are in the text transcript.
const MaxPDFText = 1 << 20

// PDF writes the whole thread as a PDF document: a title block (session,
// queue, customer, subject, status, ticket when known), then each
// message's headers, body, attachment names and its small inline images.
func PDF(w io.Writer, t Thread) error {
	return PDFWithTicket(w, t, "")
}

// PDFWithTicket is PDF with the CRM's ticket ID in the title block.
func PDFWithTicket(w io.Writer, t Thread, ticketID string) error {
	d := newDocument()
	d.title(t, ticketID)
	written := 0
	for i, m := range t.Messages {
		p := Parse(m.Raw)
		if written += len(p.Text); written > MaxPDFText {
			d.paragraph(fontText, "", fmt.Sprintf("[… %d more messages left out: the PDF is limited to %d bytes of text]", len(t.Messages)-i, MaxPDFText))
			break
		}
		d.message(i+1, len(t.Messages), m, p)
	}
	return d.pdf.Output(w)
}

type document struct {
	pdf   *fpdf.Fpdf
	fonts *fontSet
	n     int // images registered
}

func newDocument() *document {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetAutoPageBreak(true, pageMargin)
	fonts := fonts()
	pdf.AddUTF8FontFromBytes(fontText, "", fonts.regular)
	pdf.AddUTF8FontFromBytes(fontText, "B", fonts.bold)
	pdf.AddUTF8FontFromBytes(fontMono, "", fonts.mono)
	pdf.SetCreator("mxdesk", true)
	pdf.AliasNbPages("")
	pdf.SetFooterFunc(func() {
		pdf.SetY(-10)
		pdf.SetFont(fontText, "", 8)
		pdf.CellFormat(0, 4, fmt.Sprintf("%d / {nb}", pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	pdf.AddPage()
	return &document{pdf: pdf, fonts: fonts}
}

func (d *document) title(t Thread, ticketID string) {
	s := t.Session
	d.pdf.SetTitle(s.ID+": "+d.printable(s.Subject), true)
	d.pdf.SetFont(fontText, "B", 15)
	d.pdf.MultiCell(0, 7, d.printable(s.Subject), "", "L", false)
	d.pdf.Ln(2)
	rows := [][2]string{{"Session", s.ID}, {"Queue", s.Queue}, {"Customer", s.Customer}, {"Status", s.Status}}
	if s.Agent != "" {
		rows = append(rows, [2]string{"Agent", s.Agent})
	}
	if ticketID != "" {
		rows = append(rows, [2]string{"Ticket", ticketID})
	}
	rows = append(rows, [2]string{"Created", formatTime(s.Created)}, [2]string{"Messages", fmt.Sprint(len(t.Messages))})
	d.fields(rows, 10)
	d.pdf.Ln(3)
}

// fields writes "Label: value" rows, the label bold.
func (d *document) fields(rows [][2]string, size float64) {
	for _, r := range rows {
		d.pdf.SetFont(fontText, "B", size)
		d.pdf.CellFormat(22, lineHeight, r[0]+":", "", 0, "L", false, 0, "")
		d.pdf.SetFont(fontText, "", size)
		d.pdf.MultiCell(0, lineHeight, d.printable(r[1]), "", "L", false)
	}
}

func (d *document) message(n, total int, m Message, p Parsed) {
	d.pdf.SetFillColor(232, 236, 242)
	d.pdf.SetFont(fontText, "B", 11)
	d.pdf.CellFormat(0, 7, fmt.Sprintf("Message %d of %d (%s)", n, total, directionLabel(p.Direction)), "", 1, "L", true, 0, "")
	d.pdf.Ln(1)
	d.fields(headerLines(m, p), 9)
	d.pdf.Ln(2)
	font := fontText
	if !p.IsHTML {
		font = fontMono // text/plain keeps its columns (quotes, tables)
	}
	d.paragraph(font, "", strings.TrimRight(p.Text, "\n"))
	if p.Truncated {
		d.paragraph(fontText, "", truncatedNote)
	}
	if len(p.Attachments) > 0 {
		d.pdf.Ln(1)
		d.pdf.SetFont(fontText, "B", 9)
		d.pdf.CellFormat(0, lineHeight, "Attachments:", "", 1, "L", false, 0, "")
		for _, a := range p.Attachments {
			d.paragraph(fontText, "", "• "+attachmentLine(a))
		}
	}
	for _, img := range p.Images {
		d.image(img)
	}
	d.pdf.Ln(5)
}

func (d *document) paragraph(font, style, text string) {
	size := 9.5
	if font == fontMono {
		size = 8.5
	}
	d.pdf.SetFont(font, style, size)
	d.pdf.MultiCell(0, lineHeight, d.printable(text), "", "L", false)
}

// image embeds a small inline image, scaled. It is decoded and written
// again as JPEG first, so a picture the PDF library cannot read (an
// interlaced PNG, a broken file) is left out rather than failing the
// document.
func (d *document) image(img Image) {
	data, w, h, ok := reencode(img.Data)
	if !ok {
		return
	}
	d.n++
	name := fmt.Sprintf("img%d", d.n)
	opts := fpdf.ImageOptions{ImageType: "JPG"}
	d.pdf.RegisterImageOptionsReader(name, opts, bytes.NewReader(data))
	if d.pdf.Err() {
		d.pdf.ClearError()
		return
	}
	width := min(maxImageWidth, float64(w)*0.26) // ~96 dpi at most
	height := width * float64(h) / float64(w)
	if height > maxImageHeight {
		width, height = width*maxImageHeight/height, maxImageHeight
	}
	d.pdf.Ln(2)
	d.pdf.ImageOptions(name, -1, -1, width, height, true, opts, 0, "")
}

// reencode decodes a jpeg/png/gif within maxImagePixels, scales it down
// to imageWidthPixels on white, and writes it as JPEG.
func reencode(data []byte) (out []byte, w, h int, ok bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxImagePixels {
		return nil, 0, 0, false
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, false
	}
	w, h = cfg.Width, cfg.Height
	if w > imageWidthPixels {
		w, h = imageWidthPixels, max(1, h*imageWidthPixels/w)
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Over, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 85}); err != nil {
		return nil, 0, 0, false
	}
	return buf.Bytes(), w, h, true
}

// fontSet is the fonts a PDF is written with and which runes they draw.
type fontSet struct {
	regular, bold, mono []byte
	has                 func(rune) bool
}

// goFonts are the Go fonts, embedded in the binary.
var goFonts = sync.OnceValue(func() *fontSet {
	fonts := [][]byte{goregular.TTF, gobold.TTF, gomono.TTF}
	return &fontSet{regular: goregular.TTF, bold: gobold.TTF, mono: gomono.TTF, has: coverage(fonts)}
})

// pdfFont is the font crm.pdf_font names (SetPDFFont), nil: the Go fonts.
var pdfFont atomic.Pointer[fontSet]

func fonts() *fontSet {
	if f := pdfFont.Load(); f != nil {
		return f
	}
	return goFonts()
}

// SetPDFFont makes every PDF use the TrueType font ttf (crm.pdf_font) for
// all its text, for scripts the Go fonts lack (a CJK font such as IPA
// Gothic also covers Latin); nil goes back to the Go fonts. A font the
// PDF library can't embed (CFF outlines, a collection) is refused.
func SetPDFFont(ttf []byte) error {
	if ttf == nil {
		pdfFont.Store(nil)
		return nil
	}
	if _, err := sfnt.Parse(ttf); err != nil {
		return fmt.Errorf("not a TrueType font: %w", err)
	}
	set := &fontSet{regular: ttf, bold: ttf, mono: ttf, has: coverage([][]byte{ttf})}
	// A trial document: the PDF library reads more of the font than sfnt.
	trial := fpdf.New("P", "mm", "A4", "")
	trial.AddUTF8FontFromBytes(fontText, "", ttf)
	trial.AddPage()
	trial.SetFont(fontText, "", 10)
	trial.MultiCell(0, 5, "Aa", "", "L", false)
	if err := trial.Output(io.Discard); err != nil {
		return fmt.Errorf("the PDF library can't embed it: %w", err)
	}
	pdfFont.Store(set)
	return nil
}

// coverage tells which runes every one of fonts draws.
func coverage(fonts [][]byte) func(rune) bool {
	var parsed []*sfnt.Font
	for _, ttf := range fonts {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic(err) // checked by SetPDFFont; the Go fonts are fixed data
		}
		parsed = append(parsed, f)
	}
	var mu sync.Mutex
	var buf sfnt.Buffer
	known := map[rune]bool{}
	return func(r rune) bool {
		mu.Lock()
		defer mu.Unlock()
		if has, ok := known[r]; ok {
			return has
		}
		has := true
		for _, f := range parsed {
			if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
				has = false
			}
		}
		if len(known) < 1<<16 {
			known[r] = has
		}
		return has
	}
}

// printable is s as the fonts can write it: tabs as spaces, other control
// characters dropped, characters without a glyph as '?'.
func (d *document) printable(s string) string {
	has := d.fonts.has
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == ' ':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r), r == '\u200b', r == '\ufeff', r == '\u00ad':
			return -1
		case r < 0x80:
			return r
		case !has(r):
			return '?'
		}
		return r
	}, s)
}
