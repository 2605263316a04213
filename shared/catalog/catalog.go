// Package catalog is the one table of what driftwatch watches: for each
// (event source, event name) it says which resource types the change touched
// and how to find each one's ID in the event.
//
// The table drives the resolver (Resolve), the EventBridge rule pattern in
// template.yaml (Pattern) and the generated reference. Each service family
// keeps its rows in a file of its own (s3.go, ec2.go, ...).
package catalog

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/driftwatch/driftwatch/shared/change"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// Entry is one watched operation.
type Entry struct {
	// Cloud is change.Azure for Azure rows; empty (or change.AWS) for AWS.
	Cloud string
	// Service is the CloudTrail eventSource ("s3.amazonaws.com"), or the
	// Azure resource provider ("Microsoft.Storage").
	Service string
	// Operation is the eventName ("PutBucketAcl"), or the Azure
	// operationName ("Microsoft.Storage/storageAccounts/write"). For Lambda
	// the API version suffix is stripped before lookup
	// (AddPermission20150331v2 → AddPermission); see Suffixed. Azure
	// operations are looked up by operation alone, case-insensitively.
	Operation string
	// Suffixed marks operations whose event names carry an API version suffix
	// (Lambda); the EventBridge pattern then matches them by prefix.
	Suffixed bool
	// Targets are the resources the operation touches, in order of importance.
	Targets []Target
	// Note documents where the ID comes from (for the generated reference).
	Note string
}

// Target is one resource type an operation touches and how to find its IDs.
type Target struct {
	// Type is the CloudFormation type name (or the closest invented name);
	// for Azure the ARM type ("Microsoft.Storage/storageAccounts").
	Type string
	// Resolve returns the IDs (ARNs; ARM resource IDs for Azure) of the
	// touched resources of this type.
	// It returns ErrNoID when the event does not say which resource it was.
	Resolve func(c *change.Change) ([]string, error)
}

// ErrNoID is returned when an event of a watched operation does not carry
// the ID of the resource it touched.
var ErrNoID = errors.New("no resource id in event")

// Catalog is an immutable index over the table.
type Catalog struct {
	entries []Entry
	index   map[key]*Entry
	// azure indexes Azure rows by lower-cased operation (service "").
	azure map[key]*Entry
}

type key struct{ service, operation string }

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
)

// Default returns the built-in catalog.
func Default() *Catalog {
	defaultOnce.Do(func() { defaultCat = New(table()) })
	return defaultCat
}

// table is every family's rows.
func table() []Entry {
	return slices.Concat(s3Entries(), ec2Entries(), iamEntries(), cloudtrailEntries(),
		kmsEntries(), rdsEntries(), configEntries(), guarddutyEntries(), lambdaEntries(),
		azureEntries())
}

// New indexes entries. It panics on a duplicate (service, operation), which is
// a programming error in the table.
func New(entries []Entry) *Catalog {
	c := &Catalog{entries: entries, index: make(map[key]*Entry, len(entries)), azure: map[key]*Entry{}}
	for i := range entries {
		e := &c.entries[i]
		if e.Cloud == change.Azure {
			k := key{"", strings.ToLower(e.Operation)}
			if _, dup := c.azure[k]; dup {
				panic(fmt.Sprintf("catalog: duplicate Azure entry %s", e.Operation))
			}
			c.azure[k] = e
		}
		k := key{e.Service, e.Operation}
		if _, dup := c.index[k]; dup {
			panic(fmt.Sprintf("catalog: duplicate entry %s %s", e.Service, e.Operation))
		}
		c.index[k] = e
	}
	return c
}

// Entries returns the table, sorted by service and operation.
func (c *Catalog) Entries() []Entry {
	out := slices.Clone(c.entries)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Operation < out[j].Operation
	})
	return out
}

// Lookup returns the entry for a change's service and operation. An Azure
// operation (its name has a '/') matches by operation alone, in any case:
// ARM spells operation names inconsistently, and the provider is its first
// segment anyway.
func (c *Catalog) Lookup(service, operation string) (*Entry, bool) {
	e, ok := c.index[key{service, operation}]
	if !ok && len(c.azure) > 0 && strings.IndexByte(operation, '/') > 0 {
		e, ok = c.azure[key{"", strings.ToLower(operation)}]
		return e, ok
	}
	if !ok {
		if base := stripVersion(operation); base != operation {
			e, ok = c.index[key{service, base}]
			ok = ok && e.Suffixed
		}
	}
	return e, ok
}

// stripVersion removes a Lambda-style API version suffix: 20150331 or
// 20150331v2.
func stripVersion(op string) string {
	i := len(op)
	if j := strings.LastIndexByte(op, 'v'); j > 0 && j < len(op)-1 && allDigits(op[j+1:]) {
		i = j
	}
	if i >= 8 && allDigits(op[i-8:i]) {
		return op[:i-8]
	}
	return op
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Watched reports whether the change's operation is in the catalog.
func (c *Catalog) Watched(ch *change.Change) bool {
	_, ok := c.Lookup(ch.Service, ch.Operation)
	return ok
}

// Resolve fills ch.Resources with the resources the change touched. It
// returns false when the operation is not watched, and an error when it is
// watched but an ID could not be found.
func (c *Catalog) Resolve(ch *change.Change) (bool, error) {
	e, ok := c.Lookup(ch.Service, ch.Operation)
	if !ok {
		return false, nil
	}
	ch.Resources = ch.Resources[:0]
	var errs []error
	for _, t := range e.Targets {
		ids, err := t.Resolve(ch)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s: find %s: %w", ch.Service, ch.Operation, t.Type, err))
			continue
		}
		for _, id := range ids {
			ch.Resources = append(ch.Resources, resource.Ref{Type: t.Type, ID: id, Account: ch.Account, Region: ch.Region})
		}
	}
	if len(ch.Resources) == 0 && len(errs) > 0 {
		return true, errors.Join(errs...)
	}
	return true, nil
}
