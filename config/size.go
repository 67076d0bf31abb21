package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes, written as an integer or a string such as
// "100MB" (KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024).
type Size int64

// sizeUnits are Size's suffixes, longest first so "MiB" isn't read as "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseSize reads a Size such as "512MB", "100MiB" or "1048576".
func ParseSize(v string) (Size, error) {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if len(v) > len(u.suffix) && strings.EqualFold(v[len(v)-len(u.suffix):], u.suffix) {
			v, mult = strings.TrimSpace(v[:len(v)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("not a size such as \"512MB\" or \"100MiB\"")
	}
	return Size(n * mult), nil
}

// UnmarshalTOML takes an integer (bytes) or a string with a unit.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("a size can't be negative: %d", v)
		}
		*s = Size(v)
		return nil
	case string:
		n, err := ParseSize(v)
		if err != nil {
			return fmt.Errorf("%q is %v", v, err)
		}
		*s = n
		return nil
	}
	return fmt.Errorf("a size is a number of bytes or a string such as \"512MB\", not %T", v)
}
