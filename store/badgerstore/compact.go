package badgerstore

// Compact flattens the LSM tree, so that removed keys are dropped and
// the value log learns what is garbage, then runs value-log GC until it
// reclaims nothing: what the GC loop reaches over hours, at once. The
// archive benchmark measures the store's size after it.
func (s *Store) Compact() error {
	if err := s.db.Flatten(1); err != nil {
		return err
	}
	for s.db.RunValueLogGC(0.01) == nil {
	}
	return nil
}
