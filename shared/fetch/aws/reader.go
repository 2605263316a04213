// Package aws re-reads the AWS resource a change touched, live, through the
// AWS SDK for Go v2, and maps the answer into a plain resource document (no
// SDK types) whose property names follow CloudFormation's.
//
// Only the calls needed for the touched resource are made. A resource that no
// longer exists is returned with Exists false, not as an error. The package
// declares only read methods (Get/List/Describe); writes live in the revert
// package.
package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// Options tune a Reader.
type Options struct {
	// S3PathStyle makes S3 clients use path-style addressing (needed for
	// moto and other emulators reached through AWS_ENDPOINT_URL).
	S3PathStyle bool
	// CrossAccount, if set, makes the Reader read resources of accounts
	// other than its own through a role it assumes there (assume.go).
	CrossAccount *CrossAccount
}

// Reader reads resources by reference. It is safe for concurrent use.
type Reader struct {
	cfg     aws.Config
	opts    Options
	fetch   map[string]fetchFunc
	clients sync.Map // clientKey → client
	members sync.Map // account → *Reader with that account's credentials
}

// fetchFunc reads one resource and returns its document; exists is false
// when the resource is gone.
type fetchFunc func(ctx context.Context, r *Reader, ref resource.Ref) (doc map[string]any, tags map[string]string, exists bool, err error)

// New returns a Reader that uses cfg (credentials, retryer, endpoint) for
// every client it creates.
func New(cfg aws.Config, opts Options) *Reader {
	return &Reader{cfg: cfg, opts: opts, fetch: fetchers()}
}

// fetchers is every family's table of type → fetchFunc.
func fetchers() map[string]fetchFunc {
	all := map[string]fetchFunc{}
	for _, m := range []map[string]fetchFunc{
		s3Fetchers(), ec2Fetchers(), iamFetchers(), cloudtrailFetchers(), kmsFetchers(),
		rdsFetchers(), configFetchers(), guarddutyFetchers(), lambdaFetchers(),
	} {
		maps.Copy(all, m)
	}
	return all
}

// ErrUnsupportedType is returned for a resource type no fetcher reads.
var ErrUnsupportedType = errors.New("unsupported resource type")

// Types returns the resource types the Reader can read.
func (r *Reader) Types() []string {
	out := make([]string, 0, len(r.fetch))
	for t := range r.fetch {
		out = append(out, t)
	}
	return out
}

// Read re-reads the resource ref names.
func (r *Reader) Read(ctx context.Context, ref resource.Ref) (resource.Resource, error) {
	f, ok := r.fetch[ref.Type]
	if !ok {
		return resource.Resource{}, fmt.Errorf("read %s: %w", ref, ErrUnsupportedType)
	}
	rd, err := r.forAccount(ref.Account)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("read %s: %w", ref, err)
	}
	doc, tags, exists, err := f(ctx, rd, ref)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("read %s: %w", ref, err)
	}
	if !exists {
		return resource.Resource{Ref: ref}, nil
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return resource.Resource{Ref: ref, Exists: true, Doc: doc, Tags: tags}, nil
}

type clientKey struct{ service, region string }

// client returns the cached client of a service for a region, creating it
// with mk on first use. An empty region uses the config's region.
func client[T any](r *Reader, service, region string, mk func(aws.Config) T) T {
	if region == "" {
		region = r.cfg.Region
	}
	k := clientKey{service, region}
	if c, ok := r.clients.Load(k); ok {
		return c.(T)
	}
	cfg := r.cfg.Copy()
	cfg.Region = region
	c, _ := r.clients.LoadOrStore(k, mk(cfg))
	return c.(T)
}
