package catalog

// guarddutyEntries are the watched guardduty operations.
func guarddutyEntries() []Entry { return nil }
