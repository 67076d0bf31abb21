package config

// Match reports whether inbound mail matches every pattern the rule
// gives: sender is the sender's address (lower case), subject the decoded
// subject, header looks up a header field's value.
func (r *Route) Match(sender, subject string, header func(name string) string) bool {
	panic("TODO: helper implements")
}
