package store

// CountRecipient adds d to the Campaign.Counts that r contributes to
// (its state, CountReplied, CountUnsubscribed), dropping counts that
// reach 0: both stores keep Counts with it, and their checks recount.
func CountRecipient(counts map[string]int, r CampaignRecipient, d int) {
	add := func(k string) {
		if counts[k] += d; counts[k] == 0 {
			delete(counts, k)
		}
	}
	add(r.State)
	if r.Replied {
		add(CountReplied)
	}
	if r.Unsubscribed {
		add(CountUnsubscribed)
	}
}
