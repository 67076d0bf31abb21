package router

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/emersion/go-message/textproto"
)

func parsed(t *testing.T, raw string) (textproto.Header, []byte) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader([]byte(raw)))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	body.ReadFrom(br)
	return h, body.Bytes()
}

// What the agent wrote, as clients send it: mutt's plain text with its
// attribution, quote and signature; Thunderbird's HTML with
// moz-cite-prefix, <blockquote type="cite"> and moz-signature.
func TestReplyText(t *testing.T) {
	const want = "Hello Carla, the parcel left today."
	for name, raw := range map[string]string{
		"mutt": "Content-Type: text/plain; charset=us-ascii\r\nContent-Disposition: inline\r\n\r\n" +
			"Hello Carla,\r\n\r\nthe parcel left  today.\r\n\r\nOn Mon, Mar 02, 2026 at 09:00:00AM +0000, Carla wrote:\r\n> Where is my order?\r\n>\r\n\r\n-- \r\nAlice\r\n",
		"thunderbird flowed": "Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
			"Hello Carla,\r\n\r\nthe parcel left \r\ntoday.\r\n\r\nOn 3/2/26 09:00, Carla wrote:\r\n> Where is my order?\r\n\r\n-- \r\nAlice Rossi\r\n",
		"thunderbird html only": "Content-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"<!DOCTYPE html>\r\n<html>\r\n  <head>\r\n    <meta http-equiv=3D\"content-type\" content=3D\"text/html; charset=3DUTF-8\">\r\n  <style>p {}</style></head>\r\n" +
			"  <body>\r\n    <p>Hello Carla,</p>\r\n    <p>the parcel left&nbsp;today.<br>\r\n    </p>\r\n" +
			"    <div class=3D\"moz-cite-prefix\">On 3/2/26 09:00, Carla wrote:<br>\r\n    </div>\r\n" +
			"    <blockquote type=3D\"cite\" cite=3D\"mid:m1@customer.test\">\r\n      <pre class=3D\"moz-quote-pre\" wrap=3D\"\">Where is my order?</pre>\r\n    </blockquote>\r\n" +
			"    <pre class=3D\"moz-signature\" cols=3D\"72\">-- \r\nAlice Rossi</pre>\r\n  </body>\r\n</html>\r\n",
		"thunderbird alternative": "Content-Type: multipart/alternative;\r\n boundary=\"------------b1\"\r\n\r\nThis is a multi-part message in MIME format.\r\n" +
			"--------------b1\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\n\r\nHello Carla,\r\n\r\nthe parcel left today.\r\n\r\nOn 3/2/26 09:00, Carla wrote:\r\n> Where?\r\n" +
			"--------------b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>something else</p>\r\n--------------b1--\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			h, body := parsed(t, raw)
			if got := replyText(h, body); got != want {
				t.Errorf("replyText = %q, want %q", got, want)
			}
		})
	}
	// A line that merely ends in "wrote:" is the agent's when no quote
	// follows it.
	h, body := parsed(t, "Content-Type: text/plain\r\n\r\nOn Monday you wrote:\r\nthat it is late.\r\n")
	if got := replyText(h, body); got != "On Monday you wrote: that it is late." {
		t.Errorf("replyText = %q", got)
	}
}
