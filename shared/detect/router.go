package detect

import (
	"context"
	"fmt"
	"strings"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// Router is a Reader that reads each resource with the reader of its cloud:
// ARM types (Microsoft.*) with Azure, everything else with AWS. A cloud
// without a reader is an error, never a silent pass.
type Router struct {
	AWS, Azure Reader
}

// Read reads ref with its cloud's reader.
func (r Router) Read(ctx context.Context, ref resource.Ref) (resource.Resource, error) {
	rd, cloud := r.AWS, "AWS"
	if strings.HasPrefix(strings.ToLower(ref.Type), "microsoft.") {
		rd, cloud = r.Azure, "Azure"
	}
	if rd == nil {
		return resource.Resource{}, fmt.Errorf("read %s: no %s reader configured", ref, cloud)
	}
	return rd.Read(ctx, ref)
}
