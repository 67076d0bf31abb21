// Package passwd hashes and verifies agent passwords. The configuration holds
// only hashes (SPEC §10): bcrypt ("$2a$", "$2b$", "$2y$") or argon2id in the
// PHC string format "$argon2id$v=19$m=65536,t=1,p=2$<salt>$<key>", salt and
// key in unpadded standard base64.
package passwd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithm names accepted by Hash.
const (
	Bcrypt   = "bcrypt"
	Argon2id = "argon2id"
)

// BcryptCost is the bcrypt work factor used by Hash.
const BcryptCost = 10

// Argon2id parameters used by Hash: 64 MiB, one pass, two lanes.
const (
	argonMemory  = 64 * 1024 // KiB
	argonTime    = 1
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Upper bounds accepted when reading an argon2id hash, so that a hash pasted
// into the config cannot make every login allocate gigabytes or spin forever.
const (
	maxArgonMemory = 1 << 20 // KiB, 1 GiB
	maxArgonTime   = 64
)

// Hash returns the hash of password with the given algorithm (Bcrypt or
// Argon2id).
func Hash(password, algorithm string) (string, error) {
	switch algorithm {
	case Bcrypt:
		h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
		if err != nil {
			return "", fmt.Errorf("bcrypt: %w", err)
		}
		return string(h), nil
	case Argon2id:
		return hashArgon2id(password)
	default:
		return "", fmt.Errorf("unknown password hash algorithm %q (want %s or %s)", algorithm, Bcrypt, Argon2id)
	}
}

// Verify reports whether password matches hash. A malformed hash matches
// nothing.
func Verify(hash, password string) bool {
	if isBcrypt(hash) {
		if checkBcrypt(hash) != nil {
			return false
		}
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	p, err := parseArgon2id(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// Check reports whether hash is a well-formed bcrypt or argon2id hash.
func Check(hash string) error {
	switch {
	case hash == "":
		return errors.New("empty password hash")
	case isBcrypt(hash):
		return checkBcrypt(hash)
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := parseArgon2id(hash)
		return err
	case strings.HasPrefix(hash, "$argon2"):
		return errors.New("only argon2id is supported, not argon2i or argon2d")
	default:
		return errors.New("not a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash")
	}
}

func isBcrypt(hash string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$"} {
		if strings.HasPrefix(hash, p) {
			return true
		}
	}
	return false
}

// bcryptAlphabet is bcrypt's own base64 alphabet.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func checkBcrypt(hash string) error {
	// bcrypt.Cost checks the prefix and cost but not the rest; a truncated
	// paste would otherwise only show up as failed logins.
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return fmt.Errorf("malformed bcrypt hash: %w", err)
	}
	if len(hash) != 60 {
		return fmt.Errorf("malformed bcrypt hash: %d characters, want 60", len(hash))
	}
	if i := strings.IndexFunc(hash[7:], func(r rune) bool { return !strings.ContainsRune(bcryptAlphabet, r) }); i >= 0 {
		return fmt.Errorf("malformed bcrypt hash: bad character %q", hash[7+i])
	}
	return nil
}

func hashArgon2id(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var b64 = base64.RawStdEncoding

type argonParams struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseArgon2id parses "$argon2id$v=19$m=..,t=..,p=..$salt$key".
func parseArgon2id(hash string) (*argonParams, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errors.New("malformed argon2id hash: want $argon2id$v=19$m=..,t=..,p=..$salt$key")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("unsupported argon2id version %q (want v=%d)", parts[2], argon2.Version)
	}
	p, err := parseArgonParams(parts[3])
	if err != nil {
		return nil, err
	}
	if p.salt, err = b64.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return nil, errors.New("malformed argon2id hash: bad salt")
	}
	if p.key, err = b64.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return nil, errors.New("malformed argon2id hash: bad key")
	}
	return p, nil
}

func parseArgonParams(s string) (*argonParams, error) {
	var m, t, par uint64
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return nil, fmt.Errorf("malformed argon2id parameters %q: want m=N,t=N,p=N", s)
	}
	for i, dst := range []*uint64{&m, &t, &par} {
		name, val, ok := strings.Cut(fields[i], "=")
		if !ok || name != "mtp"[i:i+1] {
			return nil, fmt.Errorf("malformed argon2id parameters %q: want m=N,t=N,p=N", s)
		}
		v, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed argon2id parameter %s: %v", fields[i], err)
		}
		*dst = v
	}
	switch {
	case par < 1 || par > 255:
		return nil, fmt.Errorf("argon2id parallelism p=%d out of range 1-255", par)
	case t < 1 || t > maxArgonTime:
		return nil, fmt.Errorf("argon2id time t=%d out of range 1-%d", t, maxArgonTime)
	case m < 8*par || m > maxArgonMemory:
		return nil, fmt.Errorf("argon2id memory m=%d out of range %d-%d KiB", m, 8*par, maxArgonMemory)
	}
	return &argonParams{memory: uint32(m), time: uint32(t), threads: uint8(par)}, nil
}
