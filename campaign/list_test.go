package campaign

import (
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// readAll reads a list through listReader, as Create does.
func readAll(t *testing.T, csv string) ([]Row, error) {
	t.Helper()
	lr, err := newListReader(strings.NewReader(csv))
	if err != nil {
		return nil, err
	}
	var rows []Row
	for {
		r, err := lr.next()
		if errors.Is(err, io.EOF) {
			return rows, lr.err()
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
}

func TestListReportsEveryBadRowByLine(t *testing.T) {
	csv := "email,name,city\r\n" +
		"ann@example.com,Ann,Rome\r\n" + // 2 good
		"not-an-address,Bob,Oslo\r\n" + // 3 bad address
		"cid@example.com,Cid\r\n" + // 4 field count
		"\"dan@example.com\",\"Dan \"\"the\"\" man\",\"Two\nlines\"\r\n" + // 5-6 good, quoted (RFC 4180)
		"ANN@example.com,Ann again,Rome\r\n" + // 7 duplicate
		"eve@example.com,Eve \xff,Bern\r\n" + // 8 invalid UTF-8
		"fay@example.com,\"Fay,Bern\r\n" // 9 unterminated quote
	rows, err := readAll(t, csv)
	var le *ListError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a ListError", err)
	}
	var got []string
	for _, r := range le.Rows {
		got = append(got, r.Error())
	}
	want := []string{
		`line 3: email "not-an-address" is not an address (want name@domain)`,
		"line 4: 2 fields, the header has 3",
		"line 7: email ANN@example.com is already on line 2",
		"line 8: column name is not valid UTF-8",
		"line 9: not RFC 4180 CSV: extraneous or missing \" in quoted-field",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(rows) != 2 || rows[1].Values[1] != `Dan "the" man` || rows[1].Line != 5 {
		t.Errorf("good rows = %+v", rows)
	}
}

func TestListHeader(t *testing.T) {
	for _, tt := range []struct{ csv, want string }{
		{"", "line 1: the list is empty"},
		{"name,city\nAnn,Rome\n", "line 1: no email column"},
		{"email,name,Name\n", `line 1: column "Name" appears twice`},
		{"email,first name\n", `line 1: column 2: "first name" is not a usable name`},
	} {
		_, err := readAll(t, tt.csv)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want %q", tt.csv, err, tt.want)
		}
	}
	rows, err := readAll(t, "\ufeffEmail,Name\nann@example.com,Ann\n")
	if err != nil || len(rows) != 1 || rows[0].Email != "ann@example.com" {
		t.Errorf("a BOM and a capital E: rows %+v, err %v", rows, err)
	}
}

func TestUnknownVariablesAreNamed(t *testing.T) {
	err := checkVars([]string{"email", "name"}, map[string]string{
		"the template's subject": "Hello ${name}",
		"the template's body":    "Dear ${name}, your ${plan} and ${ plan } and ${Name}",
	})
	if err == nil || !strings.Contains(err.Error(), "${plan} in the template's body") || strings.Contains(err.Error(), "${Name}") {
		t.Errorf("err = %v", err)
	}
	if got := expand("Hi ${Name} <${email}>", []string{"email", "name"}, []string{"a@b.c", "<Ann>"}, nil); got != "Hi <Ann> <a@b.c>" {
		t.Errorf("expand = %q", got)
	}
}
