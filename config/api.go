package config

import "time"

// API is the public HTTP API on listen.http (package api, issue 18).
type API struct {
	// RequestsPerMinute is how many requests one API token may make in
	// any minute (default 600); over it the API answers 429.
	RequestsPerMinute int `toml:"requests_per_minute"`
}

// DefaultAPIRequestsPerMinute is api.requests_per_minute when absent.
const DefaultAPIRequestsPerMinute = 600

// APIRateWindow is the window api.requests_per_minute counts in.
const APIRateWindow = time.Minute

func (p *parser) defaultAPI() {
	if !p.md.IsDefined("api", "requests_per_minute") {
		p.cfg.API.RequestsPerMinute = DefaultAPIRequestsPerMinute
	}
}

func (p *parser) checkAPI() {
	if p.cfg.API.RequestsPerMinute <= 0 {
		p.errorf("api.requests_per_minute", "%d: must be a positive number of requests per minute per token", p.cfg.API.RequestsPerMinute)
	}
}
