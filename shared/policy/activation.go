package policy

import (
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/driftwatch/driftwatch/shared/change"
)

// activation supplies the variables of one evaluation. Each is built on
// first use and then shared by every rule evaluated against the same
// input; documents are wrapped, not copied, so a rule that reads two
// fields of a large document costs two map lookups.
type activation struct {
	in      *Input
	adapter types.Adapter
	clock   func() time.Time

	resource, ref, tags, change, previous, now ref.Val
	// approved is the baseline looked up for baseline rules, once.
	approved *approved
}

var _ interpreter.Activation = (*activation)(nil)

var (
	emptyMap       = map[string]any{}
	emptyStringMap = map[string]string{}
)

func (e *Engine) newActivation(in *Input) *activation {
	return &activation{in: in, adapter: e.env.CELTypeAdapter(), clock: e.now}
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case varResource:
		if a.resource == nil {
			doc := a.in.Resource.Doc
			if doc == nil {
				doc = emptyMap
			}
			a.resource = types.NewStringInterfaceMap(a.adapter, doc)
		}
		return a.resource, true
	case varRef:
		if a.ref == nil {
			r := a.in.Resource.Ref
			a.ref = types.NewStringStringMap(a.adapter, map[string]string{
				"type": r.Type, "id": r.ID, "account": r.Account, "region": r.Region,
			})
		}
		return a.ref, true
	case varTags:
		if a.tags == nil {
			tags := a.in.Resource.Tags
			if tags == nil {
				tags = emptyStringMap
			}
			a.tags = types.NewStringStringMap(a.adapter, tags)
		}
		return a.tags, true
	case varChange:
		if a.change == nil {
			a.change = types.NewStringInterfaceMap(a.adapter, changeVar(a.in.Change))
		}
		return a.change, true
	case varPrevious:
		if a.previous == nil {
			prev := a.in.Previous
			if prev == nil {
				prev = emptyMap
			}
			a.previous = types.NewStringInterfaceMap(a.adapter, prev)
		}
		return a.previous, true
	case varHasPrevious:
		return types.Bool(a.in.Previous != nil), true
	case varNow:
		if a.now == nil {
			t := a.in.Now
			if t.IsZero() {
				t = a.clock()
			}
			a.now = types.Timestamp{Time: t.UTC()}
		}
		return a.now, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// changeVar is the change variable: every key is present, with zero values
// when there is no change.
func changeVar(c *change.Change) map[string]any {
	if c == nil {
		c = &change.Change{}
	}
	var when string
	if !c.Time.IsZero() {
		when = c.Time.UTC().Format(time.RFC3339)
	}
	req := c.Request()
	if req == nil {
		req = emptyMap
	}
	resp := c.Response()
	if resp == nil {
		resp = emptyMap
	}
	p := c.Principal
	return map[string]any{
		"cloud":      c.Cloud,
		"event_id":   c.EventID,
		"time":       when,
		"account":    c.Account,
		"region":     c.Region,
		"service":    c.Service,
		"operation":  c.Operation,
		"event_type": c.EventType,
		"read_only":  c.ReadOnly,
		"error_code": c.ErrorCode,
		"principal": map[string]any{
			"arn":         p.ARN,
			"type":        p.Type,
			"id":          p.ID,
			"account":     p.Account,
			"name":        p.Name,
			"issuer_arn":  p.IssuerARN,
			"issuer_type": p.IssuerType,
			"invoked_by":  p.InvokedBy,
		},
		"source_ip":  c.SourceIP,
		"user_agent": c.UserAgent,
		"request":    req,
		"response":   resp,
	}
}
