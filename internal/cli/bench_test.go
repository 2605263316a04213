package cli

import (
	"testing"

	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/filter"
)

// BenchmarkStartup measures start-up to ready: every built-in rule loaded
// and compiled, the catalog indexed and the filter built — what a cold
// Lambda does before it can handle its first event (AWS client creation is
// lazy and not included).
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		eng, err := loadEngine("")
		if err != nil {
			b.Fatal(err)
		}
		cat := catalog.New(catalog.Default().Entries())
		if _, err := filter.New([]string{"arn:aws:iam::*:role/driftwatch-*"}, cat.Watched); err != nil {
			b.Fatal(err)
		}
		if len(eng.Rules()) == 0 {
			b.Fatal("no rules")
		}
	}
}
