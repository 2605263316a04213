package catalog

// configEntries are the watched config operations.
func configEntries() []Entry { return nil }
