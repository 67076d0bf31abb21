package passwd

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// Hash with argon2id uses 64 MiB, which is slow under -race: the tests call
// it once and check wrong passwords against cheap hashes (argonHash).
func TestHashVerify(t *testing.T) {
	t.Parallel()
	formats := map[string]*regexp.Regexp{
		Bcrypt:   regexp.MustCompile(`^\$2a\$10\$[./A-Za-z0-9]{53}$`),
		Argon2id: regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=1,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`),
	}
	for alg, re := range formats {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			h, err := Hash("correct horse", alg)
			if err != nil {
				t.Fatal(err)
			}
			if !re.MatchString(h) {
				t.Errorf("hash %q does not match %v", h, re)
			}
			if err := Check(h); err != nil {
				t.Errorf("Check(%q) = %v", h, err)
			}
			if !Verify(h, "correct horse") {
				t.Error("Verify with the right password = false")
			}
			if alg == Bcrypt && Verify(h, "correct horsf") {
				t.Error("Verify with a wrong password = true")
			}
		})
	}
}

func TestHashErrors(t *testing.T) {
	if _, err := Hash("pw", "md5"); err == nil {
		t.Error("Hash with algorithm md5: no error")
	}
	if _, err := Hash(strings.Repeat("x", 73), Bcrypt); err == nil {
		t.Error("bcrypt of a 73-byte password: no error")
	}
}

// argonHash builds an argon2id hash with cheap parameters, to test Verify
// against hashes made elsewhere (e.g. by the argon2 CLI with other settings).
func argonHash(pw string, m, t uint32, p uint8) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, t, m, p, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p, enc.EncodeToString(salt), enc.EncodeToString(key))
}

func TestVerifyForeignArgon2id(t *testing.T) {
	h := argonHash("secret", 64, 3, 1)
	if err := Check(h); err != nil {
		t.Fatal(err)
	}
	if !Verify(h, "secret") || Verify(h, "Secret") || Verify(h, "") {
		t.Errorf("Verify of %q gives wrong answers", h)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	good := argonHash("x", 64, 1, 1)
	const bc = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	tests := []struct {
		name, hash, want string // want is a substring of the error, "" for ok
	}{
		{"bcrypt", bc, ""},
		{"bcrypt 2b", "$2b$" + bc[4:], ""},
		{"bcrypt 2y", "$2y$" + bc[4:], ""},
		{"argon2id", good, ""},
		{"empty", "", "empty"},
		{"plaintext", "hunter2", "not a bcrypt"},
		{"bcrypt truncated", bc[:50], "bcrypt"},
		{"bcrypt too long", bc + "x", "60"},
		{"bcrypt bad char", bc[:59] + "!", "bad character"},
		{"bcrypt bad cost", "$2a$99$" + bc[7:], "bcrypt"},
		{"argon2i", strings.Replace(good, "argon2id", "argon2i", 1), "only argon2id"},
		{"argon2id version", strings.Replace(good, "v=19", "v=16", 1), "version"},
		{"argon2id params order", strings.Replace(good, "m=64,t=1,p=1", "t=1,m=64,p=1", 1), "parameters"},
		{"argon2id huge memory", strings.Replace(good, "m=64", "m=4194304", 1), "memory"},
		{"argon2id zero time", strings.Replace(good, "t=1", "t=0", 1), "time"},
		{"argon2id zero threads", strings.Replace(good, "p=1", "p=0", 1), "parallelism"},
		{"argon2id bad salt", strings.Replace(good, "MDEy", "!!!!", 1), "salt"},
		{"argon2id missing key", good[:strings.LastIndex(good, "$")], "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.hash)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check(%q) = %v, want nil", tt.hash, err)
			case tt.want != "" && err == nil:
				t.Errorf("Check(%q) = nil, want error containing %q", tt.hash, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Check(%q) = %v, want error containing %q", tt.hash, err, tt.want)
			}
			if tt.want != "" && Verify(tt.hash, "x") {
				t.Errorf("Verify(%q) = true for a malformed hash", tt.hash)
			}
		})
	}
}
