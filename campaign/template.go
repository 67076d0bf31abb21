package campaign

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// variable matches a ${column} in a template, an event field or a subject.
var variable = regexp.MustCompile(`\$\{([^{}]*)\}`)

// unknownVars lists, in order of appearance and once each, the ${names}
// in texts that are not columns.
func unknownVars(columns []string, texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, m := range variable.FindAllStringSubmatch(t, -1) {
			name := strings.ToLower(strings.TrimSpace(m[1]))
			if !slices.Contains(columns, name) && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// checkVars is unknownVars as an error naming each unknown variable and
// where it is.
func checkVars(columns []string, fields map[string]string) error {
	var bad []string
	for _, where := range sortedKeys(fields) {
		for _, v := range unknownVars(columns, fields[where]) {
			bad = append(bad, fmt.Sprintf("${%s} in %s", v, where))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("unknown variables (the list's columns are %s): %s", strings.Join(columns, ", "), strings.Join(bad, "; "))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// expand fills the ${column} variables of text from a row; escape (may
// be nil) escapes each value (HTML).
func expand(text string, columns, values []string, escape func(string) string) string {
	return variable.ReplaceAllStringFunc(text, func(m string) string {
		name := strings.ToLower(strings.TrimSpace(m[2 : len(m)-1]))
		i := slices.Index(columns, name)
		if i < 0 || i >= len(values) {
			return m // checked at create time: can't happen
		}
		if escape != nil {
			return escape(values[i])
		}
		return values[i]
	})
}
