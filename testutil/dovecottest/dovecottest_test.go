package dovecottest

import "testing"

// TestAppendAndLogin: a user appends to its INBOX and sees it there.
func TestAppendAndLogin(t *testing.T) {
	u := Shared(t).NewUser(t)
	c := u.Client(t)
	if uid := u.Append(t, c, "INBOX", "Subject: hi\n\nbody\n"); uid != 1 {
		t.Errorf("first UID = %d", uid)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("SELECT: %v %+v", err, sel)
	}
}
