// Package azure re-reads the Azure resource a change touched, live, through
// Azure Resource Manager, and maps the answer into a plain resource document
// (no SDK types) whose property names are ARM's.
//
// Every resource is read with one generic GET by resource ID
// (armresources.Client.GetByID) at an api-version pinned per type (see
// APIVersions); a type without a pinned version is read at the default
// api-version its resource provider advertises (ProvidersClient.Get, cached
// per type). App Service sites need a second GET of their /config/web child.
// A resource that no longer exists (404) is returned with Exists false, not
// as an error. The package declares only read methods; writes live in the
// revert packages.
//
// The document of a typed resource is
//
//	{id, name, type, location, kind, managedBy, subscriptionId, resourceGroup,
//	 sku{name, tier}, identity{type, principalId}, properties{...}}
//
// where properties holds the properties the rules read, each always
// present, with the service default written out when ARM omits it
// (docs/documents/azure.md lists them). Any other ARM type is read too: its
// properties are ARM's as returned, with whole numbers as int64 and no
// defaults filled in.
package azure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// resourcesAPI is the part of armresources.Client the Reader calls.
type resourcesAPI interface {
	GetByID(ctx context.Context, resourceID, apiVersion string, options *armresources.ClientGetByIDOptions) (armresources.ClientGetByIDResponse, error)
}

// providersAPI is the part of armresources.ProvidersClient the Reader calls.
type providersAPI interface {
	Get(ctx context.Context, resourceProviderNamespace string, options *armresources.ProvidersClientGetOptions) (armresources.ProvidersClientGetResponse, error)
	GetAtTenantScope(ctx context.Context, resourceProviderNamespace string, options *armresources.ProvidersClientGetAtTenantScopeOptions) (armresources.ProvidersClientGetAtTenantScopeResponse, error)
}

var (
	_ resourcesAPI = (*armresources.Client)(nil)
	_ providersAPI = (*armresources.ProvidersClient)(nil)
)

// Options tune a Reader.
type Options struct {
	// ClientOptions configure the ARM clients: cloud (endpoint and
	// audience), transport, retry. nil uses the public cloud's defaults.
	ClientOptions *arm.ClientOptions
	// APIVersions overrides or adds pinned api-versions: ARM type
	// (case-insensitive, e.g. "Microsoft.Storage/storageAccounts") →
	// api-version. An empty value un-pins the type so that the provider's
	// default is used.
	APIVersions map[string]string
}

// Reader reads Azure resources by reference. It is safe for concurrent use.
type Reader struct {
	resources resourcesAPI
	providers func(subscriptionID string) (providersAPI, error)
	pinned    map[string]string // lower(type) → api-version
	typed     map[string]typeSpec

	provClients sync.Map // subscription ID → providersAPI
	defaults    sync.Map // lower(type) → api-version from the provider
}

// typeSpec maps the properties of one ARM type into its document
// properties. get reads a related resource (such as a site's /config/web)
// with the Reader's api-version rules.
type typeSpec struct {
	props func(ctx context.Context, get getFunc, res *armresources.GenericResource, raw map[string]any) (map[string]any, error)
}

// getFunc reads one resource by ID; exists is false when it is gone.
type getFunc func(ctx context.Context, id string) (res *armresources.GenericResource, exists bool, err error)

// errGone reports that a resource disappeared between two reads.
var errGone = errors.New("resource gone")

// New returns a Reader that authenticates with cred (for example
// azidentity's DefaultAzureCredential locally or ManagedIdentityCredential
// in Azure; see NewCredential).
func New(cred azcore.TokenCredential, opts Options) (*Reader, error) {
	// GetByID does not use the factory's subscription.
	f, err := armresources.NewClientFactory("", cred, opts.ClientOptions)
	if err != nil {
		return nil, fmt.Errorf("create ARM resources client: %w", err)
	}
	providers := func(sub string) (providersAPI, error) {
		c, err := armresources.NewProvidersClient(sub, cred, opts.ClientOptions)
		if err != nil {
			return nil, fmt.Errorf("create ARM providers client for subscription %q: %w", sub, err)
		}
		return c, nil
	}
	return newReader(f.NewClient(), providers, opts.APIVersions), nil
}

func newReader(res resourcesAPI, providers func(string) (providersAPI, error), overrides map[string]string) *Reader {
	pinned := map[string]string{}
	for t, v := range pinnedAPIVersions {
		pinned[strings.ToLower(t)] = v
	}
	for t, v := range overrides {
		if v == "" {
			delete(pinned, strings.ToLower(t))
			continue
		}
		pinned[strings.ToLower(t)] = v
	}
	typed := map[string]typeSpec{}
	for t, s := range typeSpecs() {
		typed[strings.ToLower(t)] = s
	}
	return &Reader{resources: res, providers: providers, pinned: pinned, typed: typed}
}

// ErrBadID is returned for a resource ID that does not parse.
var ErrBadID = errors.New("bad ARM resource ID")

// Types returns the ARM types the Reader maps into typed documents (any
// other type is read as ARM returns it).
func (r *Reader) Types() []string {
	out := make([]string, 0, len(typeSpecs()))
	for t := range typeSpecs() {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// APIVersion returns the api-version the Reader uses for an ARM type:
// the pinned one, else the resource provider's default (looked up in
// subscriptionID, or at tenant scope when it is empty, and cached).
func (r *Reader) APIVersion(ctx context.Context, armType, subscriptionID string) (string, error) {
	if v, ok := r.pinned[strings.ToLower(armType)]; ok {
		return v, nil
	}
	return r.providerVersion(ctx, armType, subscriptionID)
}

// Read re-reads the resource ref names. ref.ID is the ARM resource ID;
// ref.Type its ARM type (taken from the ID when empty).
func (r *Reader) Read(ctx context.Context, ref resource.Ref) (resource.Resource, error) {
	id, err := arm.ParseResourceID(ref.ID)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("read %s: %w: %w", ref, ErrBadID, err)
	}
	typ := ref.Type
	if typ == "" {
		typ = id.ResourceType.String()
	}
	sub := id.SubscriptionID
	if sub == "" {
		sub = ref.Account
	}
	get := func(ctx context.Context, rid string) (*armresources.GenericResource, bool, error) {
		t := typ
		if !strings.EqualFold(rid, ref.ID) {
			p, err := arm.ParseResourceID(rid)
			if err != nil {
				return nil, false, fmt.Errorf("%w %q: %w", ErrBadID, rid, err)
			}
			t = p.ResourceType.String()
		}
		return r.get(ctx, rid, t, sub)
	}
	res, exists, err := get(ctx, ref.ID)
	if err != nil {
		return resource.Resource{}, fmt.Errorf("read %s: %w", ref, err)
	}
	if !exists {
		return resource.Resource{Ref: ref}, nil
	}
	doc, err := r.document(ctx, get, typ, id, res)
	if errors.Is(err, errGone) {
		return resource.Resource{Ref: ref}, nil
	}
	if err != nil {
		return resource.Resource{}, fmt.Errorf("read %s: %w", ref, err)
	}
	return resource.Resource{Ref: ref, Exists: true, Doc: doc, Tags: tags(res)}, nil
}

// document builds the document of res.
func (r *Reader) document(ctx context.Context, get getFunc, typ string, id *arm.ResourceID, res *armresources.GenericResource) (map[string]any, error) {
	raw, err := rawProperties(res)
	if err != nil {
		return nil, err
	}
	var props map[string]any
	if spec, ok := r.typed[strings.ToLower(typ)]; ok {
		props, err = spec.props(ctx, get, res, raw)
		if err != nil {
			return nil, err
		}
	} else {
		props = normalize(raw).(map[string]any)
	}
	doc := envelope(res, id)
	doc["properties"] = props
	return doc, nil
}

// get reads one resource by ID at the api-version of typ. A pinned
// api-version that ARM rejects for the type (it may not be offered in
// every cloud) is retried once at the provider's default.
func (r *Reader) get(ctx context.Context, id, typ, sub string) (*armresources.GenericResource, bool, error) {
	version, err := r.APIVersion(ctx, typ, sub)
	if err != nil {
		return nil, false, err
	}
	resp, err := r.resources.GetByID(ctx, id, version, nil)
	if err != nil && isVersionRejected(err) {
		if _, pinned := r.pinned[strings.ToLower(typ)]; pinned {
			fallback, ferr := r.providerVersion(ctx, typ, sub)
			if ferr != nil {
				return nil, false, fmt.Errorf("get %s at api-version %s: %w (and %w)", id, version, err, ferr)
			}
			if fallback != version {
				version = fallback
				resp, err = r.resources.GetByID(ctx, id, version, nil)
			}
		}
	}
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get %s at api-version %s: %w", id, version, err)
	}
	return &resp.GenericResource, true, nil
}

// providerVersion returns the default api-version the resource provider
// advertises for armType, cached per type.
func (r *Reader) providerVersion(ctx context.Context, armType, sub string) (string, error) {
	key := strings.ToLower(armType)
	if v, ok := r.defaults.Load(key); ok {
		return v.(string), nil
	}
	ns, rest, ok := strings.Cut(armType, "/")
	if !ok || rest == "" {
		return "", fmt.Errorf("resource type %q has no provider namespace", armType)
	}
	c, err := r.providersClient(sub)
	if err != nil {
		return "", err
	}
	var p armresources.Provider
	if sub == "" {
		resp, err := c.GetAtTenantScope(ctx, ns, nil)
		if err != nil {
			return "", fmt.Errorf("get resource provider %s at tenant scope: %w", ns, err)
		}
		p = resp.Provider
	} else {
		resp, err := c.Get(ctx, ns, nil)
		if err != nil {
			return "", fmt.Errorf("get resource provider %s in subscription %s: %w", ns, sub, err)
		}
		p = resp.Provider
	}
	found := ""
	for _, rt := range p.ResourceTypes {
		if rt == nil || rt.ResourceType == nil {
			continue
		}
		v := defaultVersion(rt)
		if v == "" {
			continue
		}
		k := strings.ToLower(ns + "/" + *rt.ResourceType)
		r.defaults.LoadOrStore(k, v)
		if k == key {
			found = v
		}
	}
	if found == "" {
		return "", fmt.Errorf("resource provider %s advertises no api-version for %s", ns, armType)
	}
	return found, nil
}

// defaultVersion is the provider's default api-version of a type, else its
// newest stable one, else its newest preview.
func defaultVersion(rt *armresources.ProviderResourceType) string {
	if rt.DefaultAPIVersion != nil && *rt.DefaultAPIVersion != "" {
		return *rt.DefaultAPIVersion
	}
	var stable, preview string
	for _, v := range rt.APIVersions {
		if v == nil || *v == "" {
			continue
		}
		// api-versions are dates (YYYY-MM-DD[-suffix]): they sort as text.
		if strings.Contains(*v, "-preview") || strings.Contains(*v, "-beta") || strings.Contains(*v, "-alpha") {
			preview = max(preview, *v)
		} else {
			stable = max(stable, *v)
		}
	}
	if stable != "" {
		return stable
	}
	return preview
}

func (r *Reader) providersClient(sub string) (providersAPI, error) {
	if c, ok := r.provClients.Load(sub); ok {
		return c.(providersAPI), nil
	}
	c, err := r.providers(sub)
	if err != nil {
		return nil, err
	}
	got, _ := r.provClients.LoadOrStore(sub, c)
	return got.(providersAPI), nil
}

// rawProperties returns the resource's properties as decoded JSON ({} when
// it has none).
func rawProperties(res *armresources.GenericResource) (map[string]any, error) {
	switch p := res.Properties.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return p, nil
	default:
		// Not an object: keep ARM's value under "value" rather than drop it.
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("decode properties of %s: %w", deref(res.ID), err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("decode properties of %s: %w", deref(res.ID), err)
		}
		return map[string]any{"value": v}, nil
	}
}

// envelope returns the type-independent part of a document.
func envelope(res *armresources.GenericResource, id *arm.ResourceID) map[string]any {
	sku := map[string]any{"name": "", "tier": ""}
	if res.SKU != nil {
		sku["name"] = deref(res.SKU.Name)
		sku["tier"] = deref(res.SKU.Tier)
	}
	identity := map[string]any{"type": "None", "principalId": "", "userAssignedIdentities": []any{}}
	if res.Identity != nil {
		if res.Identity.Type != nil && *res.Identity.Type != "" {
			identity["type"] = string(*res.Identity.Type)
		}
		identity["principalId"] = deref(res.Identity.PrincipalID)
		uai := make([]string, 0, len(res.Identity.UserAssignedIdentities))
		for k := range res.Identity.UserAssignedIdentities {
			uai = append(uai, k)
		}
		slices.Sort(uai)
		l := make([]any, len(uai))
		for i, s := range uai {
			l[i] = s
		}
		identity["userAssignedIdentities"] = l
	}
	typ := deref(res.Type)
	if typ == "" {
		typ = id.ResourceType.String()
	}
	name := deref(res.Name)
	if name == "" {
		name = id.Name
	}
	rid := deref(res.ID)
	if rid == "" {
		rid = id.String()
	}
	return map[string]any{
		"id":             rid,
		"name":           name,
		"type":           typ,
		"location":       deref(res.Location),
		"kind":           deref(res.Kind),
		"managedBy":      deref(res.ManagedBy),
		"subscriptionId": id.SubscriptionID,
		"resourceGroup":  id.ResourceGroupName,
		"sku":            sku,
		"identity":       identity,
	}
}

func tags(res *armresources.GenericResource) map[string]string {
	out := make(map[string]string, len(res.Tags))
	for k, v := range res.Tags {
		out[k] = deref(v)
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
