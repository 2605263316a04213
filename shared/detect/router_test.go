package detect

import (
	"context"
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

type nameReader string

func (n nameReader) Read(_ context.Context, ref resource.Ref) (resource.Resource, error) {
	return resource.Resource{Ref: ref, Exists: true, Doc: map[string]any{"by": string(n)}}, nil
}

func TestRouterPicksTheCloudsReader(t *testing.T) {
	r := Router{AWS: nameReader("aws"), Azure: nameReader("azure")}
	for typ, want := range map[string]string{
		"AWS::S3::Bucket":                         "aws",
		"Microsoft.Storage/storageAccounts":       "azure",
		"microsoft.network/networkSecurityGroups": "azure",
	} {
		res, err := r.Read(context.Background(), resource.Ref{Type: typ, ID: "x"})
		if err != nil || res.Doc["by"] != want {
			t.Errorf("%s: read by %v (%v), want %s", typ, res.Doc["by"], err, want)
		}
	}
	if _, err := (Router{AWS: nameReader("aws")}).Read(context.Background(), resource.Ref{Type: "Microsoft.Web/sites"}); err == nil {
		t.Error("an Azure resource without an Azure reader must be an error")
	}
}
