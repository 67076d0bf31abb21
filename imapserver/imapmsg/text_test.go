package imapmsg

import (
	"testing"
	"time"
)

func TestFold(t *testing.T) {
	same := [][]string{
		{"Jürgen", "JÜRGEN", "jürgen"},
		{"k", "K", "\u212a"}, // KELVIN SIGN
		{"Σ", "σ", "ς"},
		{"ÅNGSTRÖM", "ångström", "\u212bngström"}, // ANGSTROM SIGN
		{"Straße", "STRAßE"},
	}
	for _, group := range same {
		for _, s := range group[1:] {
			if fold(s) != fold(group[0]) {
				t.Errorf("fold(%q) = %q, fold(%q) = %q", s, fold(s), group[0], fold(group[0]))
			}
		}
	}
	if fold("a\xffB") != "a\xffb" {
		t.Errorf("invalid UTF-8 not kept: %q", fold("a\xffB"))
	}
}

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"=?utf-8?q?a_b?= =?utf-8?q?c?=", "a bc"},
		{"=?utf-8?q?a?=  x  =?utf-8?q?b?=", "a  x  b"},
		{"=?UTF-8?B?SsO8cmdlbg==?=", "Jürgen"},
		{"=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Grüße"},
		{"=?iso-8859-1?q?caf=E9?=", "café"},
		{"=?windows-1252?q?=80?=", "€"},
		{"=?koi8-r?b?8NLJ18XU?=", "Привет"},
		{"=?utf-8?b?SsO8cmdlbg?=", "Jürgen"}, // missing padding
		{"pre=?utf-8?q?glued?=post", "pregluedpost"},
		{"=?utf-8?x?nope?=", "=?utf-8?x?nope?="},
		{"=?utf-8?q?open", "=?utf-8?q?open"},
		{"=??=", "=??="},
		{"=?utf-8?q?a?= =?iso-8859-1?q?=E9?=", "aé"},
	}
	for _, tc := range tests {
		if got := decodeWords(tc.in); got != tc.want {
			t.Errorf("decodeWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	tests := []struct{ enc, in, want string }{
		{"base64", "SGVs\r\nbG8=", "Hello"},
		{"base64", "SGVs bG8 !!", "Hello"},
		{"quoted-printable", "a=3Db=\r\nc", "a=bc"},
		{"quoted-printable", "soft= \r\nbreak", "softbreak"},
		{"quoted-printable", "bad=ZZ=4", "bad=ZZ=4"},
		{"7bit", "as is", "as is"},
		{"x-unknown", "=41", "=41"},
	}
	for _, tc := range tests {
		if got := string(decodeTransfer(tc.enc, []byte(tc.in), 100)); got != tc.want {
			t.Errorf("decodeTransfer(%s, %q) = %q, want %q", tc.enc, tc.in, got, tc.want)
		}
	}
	if got := decodeTransfer("base64", []byte("SGVsbG8gd29ybGQ="), 4); len(got) > 4 {
		t.Errorf("limit not kept: %q", got)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Tue, 14 May 2024 09:11:58 +0200", "2024-05-14 09:11:58 +0200"},
		{"14 May 2024 09:11 -0000", "2024-05-14 09:11:00 +0000"},
		{"Tue, 14 May 2024 09:11:58 +0200 (CEST)", "2024-05-14 09:11:58 +0200"},
		{"Tuesday, 14-May-2024", ""},
		{"Tue,14 May 2024 09:11:58 PDT", "2024-05-14 09:11:58 -0700"},
		{"Tue, 14 May 24 09:11:58 +0200", "2024-05-14 09:11:58 +0200"},
		{"14 May 99 09:11:58 +0200", "1999-05-14 09:11:58 +0200"},
		{"14 May 124 09:11:58 +0200", "2024-05-14 09:11:58 +0200"},
		{"May 14 2024 09:11:58 +0200", "2024-05-14 09:11:58 +0200"},
		{"14 May 2024 09:11:60 +0200", "2024-05-14 09:11:59 +0200"},
		{"14 May 2024 09:11:58 +02:00", "2024-05-14 09:11:58 +0200"},
		{"14 May 2024 09:11:58 A", "2024-05-14 09:11:58 +0000"},
		{"14 May 2024", "2024-05-14 00:00:00 +0000"},
		{"2024-05-14T09:11:58+02:00", "2024-05-14 09:11:58 +0200"},
		{"30 Feb 2024 10:00:00 +0000", ""},
		{"14 May 2024 24:00:00 +0000", ""},
		{"14 Foo 2024", ""},
		{"", ""},
		{"garbage", ""},
		{"1 Jan 0999 00:00:00 +0000", ""},
	}
	for _, tc := range tests {
		got := ""
		if d, ok := parseDate(tc.in); ok {
			got = d.Format("2006-01-02 15:04:05 -0700")
		}
		if got != tc.want {
			t.Errorf("parseDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseDateKeepsZone(t *testing.T) {
	d, _ := parseDate("Tue, 14 May 2024 23:30:00 -0800")
	if _, off := d.Zone(); off != -8*3600 || d.Day() != 14 {
		t.Errorf("got %v", d)
	}
	if !d.Equal(time.Date(2024, 5, 15, 7, 30, 0, 0, time.UTC)) {
		t.Errorf("got %v", d)
	}
}
