package catalog

import (
	"sort"
	"strings"

	"github.com/driftwatch/driftwatch/shared/change"
)

// ServicePattern is the EventBridge event pattern that selects one
// service's watched CloudTrail events.
type ServicePattern struct {
	// Service is the eventSource, e.g. s3.amazonaws.com.
	Service string
	// Pattern is the event pattern as a JSON-ready value.
	Pattern map[string]any
}

// Patterns returns one EventBridge event pattern per watched AWS service,
// sorted by service. One pattern per service keeps each well under
// EventBridge's default 2,048-character limit on a pattern. Operations
// whose event names carry an API version suffix are matched by prefix.
func (c *Catalog) Patterns() []ServicePattern {
	bySvc := map[string][]any{}
	for _, e := range c.Entries() {
		if e.Cloud == change.Azure {
			continue // Event Grid filters: AzureOperations
		}
		var name any = e.Operation
		if e.Suffixed {
			name = map[string]any{"prefix": e.Operation}
		}
		bySvc[e.Service] = append(bySvc[e.Service], name)
	}
	svcs := make([]string, 0, len(bySvc))
	for s := range bySvc {
		svcs = append(svcs, s)
	}
	sort.Strings(svcs)
	out := make([]ServicePattern, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, ServicePattern{Service: s, Pattern: map[string]any{
			"source":      []any{"aws." + strings.TrimSuffix(s, ".amazonaws.com")},
			"detail-type": []any{"AWS API Call via CloudTrail"},
			"detail": map[string]any{
				"eventSource": []any{s},
				"eventName":   bySvc[s],
			},
		}})
	}
	return out
}
