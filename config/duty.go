package config

import "time"

// DefaultDeliveryLease is delivery.lease's default: far longer than an
// attempt takes with delivery.timeout's default (2m per command), short
// enough that the messages of a node that died sending go out soon.
const DefaultDeliveryLease = 15 * time.Minute

func (p *parser) defaultDeliveryLease() {
	if !p.md.IsDefined("delivery", "lease") {
		p.cfg.Delivery.Lease.Duration = DefaultDeliveryLease
	}
}

// checkDeliveryLease: a lease must outlast an attempt, or another node
// would send the message again while the first still sends it. An
// attempt is several commands of up to delivery.timeout each.
func (p *parser) checkDeliveryLease() {
	d := p.cfg.Delivery
	if d.Lease.Duration < 2*d.Timeout.Duration || d.Lease.Duration <= 0 {
		p.errorf("delivery.lease", "must be a duration of at least twice delivery.timeout (%v), such as \"15m\", not %v: a node holds a message that long while sending it",
			2*d.Timeout.Duration, d.Lease.Duration)
	}
}
