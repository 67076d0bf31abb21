package config

// defaultSpoolThreshold is limits.spool_threshold when it is not set:
// DefaultSpoolThreshold, or limits.inflight_message_bytes when that is
// smaller, so that a body goes to its file before the cap refuses it.
func defaultSpoolThreshold(inflight Size) Size {
	if inflight > 0 && inflight < DefaultSpoolThreshold {
		return inflight
	}
	return DefaultSpoolThreshold
}

// checkSpool checks limits.spool_threshold against the in-memory cap: a
// body larger than the cap would be refused before it reached its file.
func (p *parser) checkSpool() {
	lim := p.cfg.Limits
	if lim.SpoolThreshold > 0 && lim.InflightMessageBytes > 0 && lim.SpoolThreshold > lim.InflightMessageBytes {
		p.errorf("limits.spool_threshold", "must be 0 (off) or at most limits.inflight_message_bytes (%d), not %d: a body is refused for the cap before it would reach its spool file",
			int64(lim.InflightMessageBytes), int64(lim.SpoolThreshold))
	}
}
