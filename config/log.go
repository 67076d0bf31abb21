package config

import "log/slog"

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

// Log is the [log] section: how `mxdesk serve` writes its log to stderr.
type Log struct {
	// Format is "text" (default: logfmt-style key=value lines) or "json"
	// (one JSON object per line).
	Format string `toml:"format"`
	// Level is the least severe level logged: debug, info (default),
	// warn or error. serve's --log-level flag overrides it.
	Level string `toml:"level"`
}

// SlogLevel is Level as a slog.Level (info when unset).
func (l Log) SlogLevel() slog.Level {
	var lv slog.Level
	if l.Level != "" {
		lv.UnmarshalText([]byte(l.Level)) // validated by Parse
	}
	return lv
}

// checkLog fills in the defaults of [log] and checks its values.
func (p *parser) checkLog() {
	l := &p.cfg.Log
	if l.Format == "" {
		l.Format = LogText
	}
	if l.Format != LogText && l.Format != LogJSON {
		p.errorf("log.format", "%q: want %q or %q", l.Format, LogText, LogJSON)
	}
	if l.Level == "" {
		l.Level = "info"
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		p.errorf("log.level", "%q: want debug, info, warn or error", l.Level)
	}
}
