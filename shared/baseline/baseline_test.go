package baseline

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/driftwatch/driftwatch/shared/resource"
)

// fakeStore is a Store with func fields; unset fields fail the test.
type fakeStore struct {
	get func(id string) (*Baseline, error)
	put func(b *Baseline) error
}

var _ Store = (*fakeStore)(nil)

func (f *fakeStore) Get(_ context.Context, id string) (*Baseline, error) { return f.get(id) }
func (f *fakeStore) Put(_ context.Context, b *Baseline) error            { return f.put(b) }

var at = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var sg = resource.Ref{Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1", Account: "123456789012", Region: "us-east-1"}

func TestRefOf(t *testing.T) {
	tests := []struct {
		id      string
		want    resource.Ref
		wantErr bool
	}{
		{id: "arn:aws:s3:::logs", want: resource.Ref{Type: "AWS::S3::Bucket", ID: "arn:aws:s3:::logs", Account: "111111111111", Region: "eu-west-1"}},
		{id: "arn:aws:s3:eu-west-1:123456789012:account-public-access-block", want: resource.Ref{Type: "AWS::S3::AccountPublicAccessBlock", ID: "arn:aws:s3:eu-west-1:123456789012:account-public-access-block", Account: "123456789012", Region: "eu-west-1"}},
		{id: sg.ID, want: sg},
		{id: "arn:aws:iam::123456789012:role/ops/deploy", want: resource.Ref{Type: "AWS::IAM::Role", ID: "arn:aws:iam::123456789012:role/ops/deploy", Account: "123456789012", Region: "eu-west-1"}},
		{id: "arn:aws:iam::123456789012:root", want: resource.Ref{Type: "AWS::IAM::RootUser", ID: "arn:aws:iam::123456789012:root", Account: "123456789012", Region: "eu-west-1"}},
		{id: "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:s1", want: resource.Ref{Type: "AWS::RDS::DBClusterSnapshot", ID: "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:s1", Account: "123456789012", Region: "us-east-1"}},
		{id: "arn:aws:rds:us-east-1:123456789012:snapshot:s1", want: resource.Ref{Type: "AWS::RDS::DBSnapshot", ID: "arn:aws:rds:us-east-1:123456789012:snapshot:s1", Account: "123456789012", Region: "us-east-1"}},
		{id: "arn:aws:lambda:us-east-1:123456789012:function:f:live", want: resource.Ref{Type: "AWS::Lambda::Function", ID: "arn:aws:lambda:us-east-1:123456789012:function:f:live", Account: "123456789012", Region: "us-east-1"}},
		{id: "arn:aws:s3:::logs/key.txt", wantErr: true},
		{id: "arn:aws:sqs:us-east-1:123456789012:q", wantErr: true},
		{id: "sg-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			got, err := RefOf(tt.id, "111111111111", "eu-west-1")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("RefOf = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RefOf = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestDecodeKeepsIntegers(t *testing.T) {
	b := &Baseline{Ref: sg, Doc: map[string]any{"FromPort": int64(22), "Ratio": 0.5, "Big": int64(1) << 53,
		"Rules": []any{map[string]any{"ToPort": int64(443)}}, "Open": false, "Gone": nil}, ApprovedBy: "cli:alice", ApprovedAt: at}
	body, err := encode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(sg.ID, body, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := *b
	want.Version = 7
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("round trip:\n got %#v\nwant %#v", got, &want)
	}
}

func TestApprove(t *testing.T) {
	live := resource.Resource{Ref: sg, Exists: true, Doc: map[string]any{"GroupId": "sg-1"}, Tags: map[string]string{"team": "web"}}
	tests := []struct {
		name        string
		res         resource.Resource
		stored      *Baseline
		conflicts   int
		getErr      error
		wantVersion int64
		wantErr     error
		wantPuts    int
	}{
		{name: "first approval", res: live, wantVersion: 1, wantPuts: 1},
		{name: "replaces an earlier one", res: live, stored: &Baseline{Ref: sg, Version: 4}, wantVersion: 5, wantPuts: 1},
		{name: "retries a conflict", res: live, stored: &Baseline{Ref: sg, Version: 4}, conflicts: 2, wantVersion: 5, wantPuts: 3},
		{name: "gives up after endless conflicts", res: live, stored: &Baseline{Ref: sg, Version: 4}, conflicts: 100, wantErr: ErrConflict, wantPuts: maxAttempts},
		{name: "a gone resource is not approved", res: resource.Resource{Ref: sg}, wantErr: ErrGone},
		{name: "a store error", res: live, getErr: errors.New("disk full"), wantErr: errors.New("disk full")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			puts := 0
			s := &fakeStore{
				get: func(id string) (*Baseline, error) {
					if id != sg.ID {
						t.Errorf("Get(%q)", id)
					}
					if tt.getErr != nil {
						return nil, tt.getErr
					}
					if tt.stored == nil {
						return nil, ErrNotFound
					}
					return tt.stored, nil
				},
				put: func(b *Baseline) error {
					puts++
					if puts <= tt.conflicts {
						return ErrConflict
					}
					if tt.stored != nil && b.Version != tt.stored.Version {
						t.Errorf("Put at version %d, want the stored %d", b.Version, tt.stored.Version)
					}
					b.Version++
					return nil
				},
			}
			b, err := Approve(context.Background(), s, tt.res, "slack:U1", "from a finding", at)
			if puts != tt.wantPuts {
				t.Errorf("%d puts, want %d", puts, tt.wantPuts)
			}
			if tt.wantErr != nil {
				if err == nil || (!errors.Is(err, tt.wantErr) && !strings.Contains(err.Error(), tt.wantErr.Error())) {
					t.Fatalf("Approve error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Version != tt.wantVersion || b.ApprovedBy != "slack:U1" || !b.ApprovedAt.Equal(at) || b.Note != "from a finding" ||
				!reflect.DeepEqual(b.Doc, live.Doc) || !reflect.DeepEqual(b.Tags, live.Tags) {
				t.Errorf("approved %+v", b)
			}
		})
	}
}

func TestSource(t *testing.T) {
	doc := map[string]any{"GroupId": "sg-1"}
	tests := []struct {
		name    string
		get     func(string) (*Baseline, error)
		wantOK  bool
		wantErr bool
	}{
		{"approved", func(string) (*Baseline, error) { return &Baseline{Ref: sg, Doc: doc}, nil }, true, false},
		{"none", func(id string) (*Baseline, error) { return nil, errors.Join(errors.New("get"), ErrNotFound) }, false, false},
		{"store down", func(string) (*Baseline, error) { return nil, errors.New("timeout") }, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := Source{Store: &fakeStore{get: tt.get}}.Approved(context.Background(), sg)
			if ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Fatalf("Approved = %v, %v, %v", got, ok, err)
			}
			if ok && !reflect.DeepEqual(got, doc) {
				t.Errorf("doc %v", got)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	b := &Baseline{Ref: sg, Doc: map[string]any{"A": int64(1), "B": "x"}}
	if d := Compare(b, resource.Resource{Ref: sg, Exists: true, Doc: map[string]any{"A": int64(1), "B": "y"}}, []string{"A"}); len(d) != 0 {
		t.Errorf("watched A only: %+v", d)
	}
	if d := Compare(b, resource.Resource{Ref: sg, Exists: true, Doc: map[string]any{"A": int64(1), "B": "y"}}, nil); len(d) != 1 || d[0].Path != "B" {
		t.Errorf("whole document: %+v", d)
	}
	if d := Compare(b, resource.Resource{Ref: sg}, nil); len(d) != 2 {
		t.Errorf("gone resource: %+v", d)
	}
}
