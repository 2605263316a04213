package policy

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeBaselines is a BaselineSource over a map by resource ID.
type fakeBaselines struct {
	docs  map[string]map[string]any
	err   error
	calls int
}

var _ BaselineSource = (*fakeBaselines)(nil)

func (f *fakeBaselines) Approved(_ context.Context, ref resource.Ref) (map[string]any, bool, error) {
	f.calls++
	if f.err != nil {
		return nil, false, f.err
	}
	d, ok := f.docs[ref.ID]
	return d, ok, nil
}

const sgType = "AWS::EC2::SecurityGroup"

func sgRule(port int64, cidr string) map[string]any {
	return map[string]any{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
		"IpRanges": []any{map[string]any{"CidrIp": cidr, "Description": ""}}, "Ipv6Ranges": []any{}}
}

func sgDoc(rules ...any) map[string]any {
	return map[string]any{"GroupId": "sg-1", "GroupName": "web", "Description": "web tier",
		"IpPermissions": rules, "IpPermissionsEgress": []any{}, "VpcId": "vpc-1"}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		approved map[string]any
		live     map[string]any
		paths    []string
		want     string // JSON of the differences
	}{
		{
			name:     "equal",
			approved: sgDoc(sgRule(443, "0.0.0.0/0")),
			live:     sgDoc(sgRule(443, "0.0.0.0/0")),
			paths:    []string{"IpPermissions"},
			want:     `null`,
		},
		{
			name:     "same rules in another order, numbers of another type",
			approved: sgDoc(sgRule(443, "0.0.0.0/0"), sgRule(80, "10.0.0.0/8")),
			live: sgDoc(sgRule(80, "10.0.0.0/8"), map[string]any{"IpProtocol": "tcp", "FromPort": 443.0, "ToPort": 443.0,
				"IpRanges": []any{map[string]any{"CidrIp": "0.0.0.0/0", "Description": ""}}, "Ipv6Ranges": []any{}}),
			paths: []string{"IpPermissions"},
			want:  `null`,
		},
		{
			name: "a rule authorized again with a new rule ID",
			approved: map[string]any{"SecurityGroupIngress": []any{map[string]any{"RuleId": "sgr-1", "FromPort": int64(22), "CidrIp": "10.0.0.0/8"},
				map[string]any{"RuleId": "sgr-2", "FromPort": int64(443), "CidrIp": "0.0.0.0/0"}}},
			live: map[string]any{"SecurityGroupIngress": []any{map[string]any{"RuleId": "sgr-2", "FromPort": int64(443), "CidrIp": "0.0.0.0/0"},
				map[string]any{"RuleId": "sgr-9", "FromPort": int64(22), "CidrIp": "10.0.0.0/8"}}},
			paths: []string{"SecurityGroupIngress"},
			want:  `null`,
		},
		{
			name:     "a rule ID outside a list is content",
			approved: map[string]any{"RuleId": "sgr-1"},
			live:     map[string]any{"RuleId": "sgr-2"},
			paths:    []string{"RuleId"},
			want:     `[{"path":"RuleId","approved":"sgr-1","live":"sgr-2"}]`,
		},
		{
			name:     "a rule added and one removed",
			approved: sgDoc(sgRule(443, "0.0.0.0/0"), sgRule(80, "10.0.0.0/8")),
			live:     sgDoc(sgRule(443, "0.0.0.0/0"), sgRule(22, "0.0.0.0/0")),
			paths:    []string{"IpPermissions", "IpPermissionsEgress"},
			want: `[{"path":"IpPermissions","added":[{"FromPort":22,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0","Description":""}],"Ipv6Ranges":[],"ToPort":22}],` +
				`"removed":[{"FromPort":80,"IpProtocol":"tcp","IpRanges":[{"CidrIp":"10.0.0.0/8","Description":""}],"Ipv6Ranges":[],"ToPort":80}]}]`,
		},
		{
			name:     "a duplicate counts",
			approved: map[string]any{"L": []any{"a", "a", "b"}},
			live:     map[string]any{"L": []any{"a", "b", "b"}},
			paths:    []string{"L"},
			want:     `[{"path":"L","added":["b"],"removed":["a"]}]`,
		},
		{
			name: "nested map: the innermost key is named; unwatched paths are ignored",
			approved: map[string]any{"Name": "b", "Versioning": "Enabled", "PublicAccessBlock": map[string]any{
				"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true}},
			live: map[string]any{"Name": "b", "Versioning": "Suspended", "PublicAccessBlock": map[string]any{
				"BlockPublicAcls": false, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": false}},
			paths: []string{"PublicAccessBlock"},
			want: `[{"path":"PublicAccessBlock.BlockPublicAcls","approved":true,"live":false},` +
				`{"path":"PublicAccessBlock.RestrictPublicBuckets","approved":true,"live":false}]`,
		},
		{
			name:     "a watched path into the map, and a value that appeared and one that went",
			approved: map[string]any{"Encryption": map[string]any{"Rules": []any{"AES256"}, "KmsKey": "k1"}},
			live:     map[string]any{"Encryption": map[string]any{"Rules": []any{"aws:kms"}, "BucketKey": true}},
			paths:    []string{"Encryption.KmsKey", "Encryption.BucketKey", "Encryption.Rules"},
			want: `[{"path":"Encryption.KmsKey","approved":"k1","live":null},{"path":"Encryption.BucketKey","approved":null,"live":true},` +
				`{"path":"Encryption.Rules","added":["aws:kms"],"removed":["AES256"]}]`,
		},
		{
			name:     "a type change",
			approved: map[string]any{"Policy": map[string]any{"Version": "2012-10-17"}},
			live:     map[string]any{"Policy": ""},
			paths:    []string{"Policy"},
			want:     `[{"path":"Policy","approved":{"Version":"2012-10-17"},"live":""}]`,
		},
		{
			name:     "absent on both sides",
			approved: map[string]any{},
			live:     map[string]any{},
			paths:    []string{"Missing.Path"},
			want:     `null`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(Diff(tt.approved, tt.live, tt.paths))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Diff:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDiffAll(t *testing.T) {
	got := DiffAll(map[string]any{"A": int64(1), "B": "x"}, map[string]any{"A": int64(2), "C": true})
	want := []Difference{{Path: "A", Approved: int64(1), Live: int64(2)}, {Path: "B", Approved: "x"}, {Path: "C", Live: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DiffAll = %+v, want %+v", got, want)
	}
}

func TestBaselineRuleValidation(t *testing.T) {
	base := Rule{ID: "acme-sg-baseline", Title: "SG drift", Severity: SeverityMedium, ResourceTypes: []string{sgType}}
	tests := []struct {
		name    string
		edit    func(r *Rule)
		wantErr string
	}{
		{"valid", func(r *Rule) { r.Kind, r.Watch = KindBaseline, []string{"IpPermissions", "Tags.Owner"} }, ""},
		{"no watch", func(r *Rule) { r.Kind = KindBaseline }, "needs watch"},
		{"a condition too", func(r *Rule) { r.Kind, r.Watch, r.Condition = KindBaseline, []string{"A"}, "true" }, "not a condition"},
		{"empty segment", func(r *Rule) { r.Kind, r.Watch = KindBaseline, []string{"A..B"} }, "empty segment"},
		{"white space", func(r *Rule) { r.Kind, r.Watch = KindBaseline, []string{"A B"} }, "white space"},
		{"watch on a condition rule", func(r *Rule) { r.Condition, r.Watch = "true", []string{"A"} }, "watch applies to rules of kind baseline only"},
		{"unknown kind", func(r *Rule) { r.Kind, r.Condition = "diff", "true" }, `kind "diff" is not baseline`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base
			tt.edit(&r)
			_, err := Compile([]Rule{r})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Compile: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Compile error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestBaselineRuleEvaluation(t *testing.T) {
	ref := resource.Ref{Type: sgType, ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1"}
	rules := []Rule{
		{ID: "acme-sg-baseline", Title: "SG drift", Severity: SeverityMedium, ResourceTypes: []string{sgType},
			Kind: KindBaseline, Watch: []string{"IpPermissions"}, Message: "Group {{ resource.GroupName }} changed"},
		{ID: "acme-sg-egress-baseline", Title: "SG egress drift", Severity: SeverityLow, ResourceTypes: []string{sgType},
			Kind: KindBaseline, Watch: []string{"IpPermissionsEgress"}},
	}
	approved := sgDoc(sgRule(443, "0.0.0.0/0"))
	tests := []struct {
		name       string
		src        *fakeBaselines
		in         Input
		want       []Result
		wantMsg    string
		wantLookup int
	}{
		{
			name: "no baseline approved",
			src:  &fakeBaselines{},
			in:   Input{Resource: resource.Resource{Ref: ref, Exists: true, Doc: sgDoc(sgRule(22, "0.0.0.0/0"))}},
			want: []Result{Pass, Pass}, wantMsg: "no approved baseline", wantLookup: 1,
		},
		{
			name: "as approved",
			src:  &fakeBaselines{docs: map[string]map[string]any{ref.ID: approved}},
			in:   Input{Resource: resource.Resource{Ref: ref, Exists: true, Doc: sgDoc(sgRule(443, "0.0.0.0/0"))}},
			want: []Result{Pass, Pass}, wantMsg: "as approved", wantLookup: 1,
		},
		{
			name: "drifted on one watched path, looked up once for both rules",
			src:  &fakeBaselines{docs: map[string]map[string]any{ref.ID: approved}},
			in:   Input{Resource: resource.Resource{Ref: ref, Exists: true, Doc: sgDoc(sgRule(443, "0.0.0.0/0"), sgRule(22, "0.0.0.0/0"))}},
			want: []Result{Fail, Pass},
			wantMsg: `Group web changed — differs from its approved baseline on IpPermissions: [{"path":"IpPermissions","added":[{"FromPort":22,` +
				`"IpProtocol":"tcp","IpRanges":[{"CidrIp":"0.0.0.0/0","Description":""}],"Ipv6Ranges":[],"ToPort":22}],"removed":[]}]`,
			wantLookup: 1,
		},
		{
			name: "the input's baseline wins over the source",
			src:  &fakeBaselines{},
			in: Input{Resource: resource.Resource{Ref: ref, Exists: true, Doc: sgDoc()},
				Baseline: approved},
			want: []Result{Fail, Pass}, wantMsg: `"removed":[{"FromPort":443`, wantLookup: 0,
		},
		{
			name: "lookup error is an error verdict",
			src:  &fakeBaselines{err: errors.New("table unavailable")},
			in:   Input{Resource: resource.Resource{Ref: ref, Exists: true, Doc: sgDoc()}},
			want: []Result{Error, Error}, wantMsg: "look up the approved baseline: table unavailable", wantLookup: 1,
		},
		{
			name: "deleted resource",
			src:  &fakeBaselines{docs: map[string]map[string]any{ref.ID: approved}},
			in:   Input{Resource: resource.Resource{Ref: ref}},
			want: []Result{Pass, Pass}, wantMsg: "resource no longer exists", wantLookup: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(rules, WithBaselines(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			vs := e.Evaluate(context.Background(), tt.in)
			if len(vs) != len(tt.want) {
				t.Fatalf("%d verdicts, want %d", len(vs), len(tt.want))
			}
			for i, v := range vs {
				if v.Result != tt.want[i] {
					t.Errorf("%s: %s (%s), want %s", v.RuleID, v.Result, v.Message, tt.want[i])
				}
			}
			if !strings.Contains(vs[0].Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", vs[0].Message, tt.wantMsg)
			}
			if tt.src.calls != tt.wantLookup {
				t.Errorf("%d lookups, want %d", tt.src.calls, tt.wantLookup)
			}
		})
	}
}

func TestBaselineRuleTests(t *testing.T) {
	rules, err := ParseRules("acme.rules.yaml", []byte(`rules:
  - id: acme-bucket-pab-baseline
    title: Bucket public access block differs from the approved one
    severity: high
    resource_types: [AWS::S3::Bucket]
    kind: baseline
    watch: [PublicAccessBlock]
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := Compile(rules)
	if err != nil {
		t.Fatal(err)
	}
	tf, err := ParseTests("acme.tests.yaml", []byte(`tests:
  - rule: acme-bucket-pab-baseline
    cases:
      - name: as approved
        baseline: {PublicAccessBlock: {BlockPublicAcls: true}}
        resource: {PublicAccessBlock: {BlockPublicAcls: true}}
        expect: pass
      - name: turned off
        baseline: {PublicAccessBlock: {BlockPublicAcls: true}}
        resource: {PublicAccessBlock: {BlockPublicAcls: false}}
        expect: fail
        message: '"path":"PublicAccessBlock.BlockPublicAcls","approved":true,"live":false'
      - name: no baseline
        resource: {PublicAccessBlock: {BlockPublicAcls: false}}
        expect: pass
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range RunTests(e, tf) {
		if !r.Passed {
			t.Errorf("%s", r)
		}
	}
}
