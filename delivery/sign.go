package delivery

import (
	"bufio"
	"bytes"
	"crypto"
	"fmt"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/dkim"

	"mxdesk/config"
)

// dkimKey is the signing key of one domain.
type dkimKey struct {
	domain, selector string
	signer           crypto.Signer
}

// loadKeys reads the DKIM key of every [[domain]] that has one.
func loadKeys(cfg *config.Config) (map[string]dkimKey, error) {
	keys := map[string]dkimKey{}
	for i, d := range cfg.Domain {
		if d.DKIMKey == "" {
			continue
		}
		signer, err := config.LoadDKIMKey(d.DKIMKey)
		if err != nil {
			return nil, fmt.Errorf("domain[%d].dkim_key: %w", i, err)
		}
		name := strings.ToLower(d.Name)
		keys[name] = dkimKey{domain: name, selector: d.DKIMSelector, signer: signer}
	}
	return keys, nil
}

// signedHeaders are the fields the signature covers (RFC 6376 5.4.1);
// one that is absent is signed as absent, so it can't be added later.
var signedHeaders = []string{
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "Reply-To",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
}

// sign returns the DKIM-Signature field for raw, made with the key of the
// domain of its From address, or nil when that domain has no key.
// Canonicalization is relaxed/relaxed, which survives the whitespace and
// line changes relays make.
func (w *Worker) sign(raw []byte) ([]byte, error) {
	key, ok := w.keys[fromDomain(raw)]
	if !ok {
		return nil, nil
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 key.domain,
		Selector:               key.selector,
		Signer:                 key.signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             signedHeaders,
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.Write(raw); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	return []byte(s.Signature()), nil
}

// fromDomain is the lower-case domain of the From address of raw, or "".
func fromDomain(raw []byte) string {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	addrs, err := (&mail.Header{Header: message.Header{Header: h}}).AddressList("From")
	if err != nil || len(addrs) == 0 {
		return ""
	}
	a := addrs[0].Address
	return strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
}
