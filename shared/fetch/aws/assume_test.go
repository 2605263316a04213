package aws

import (
	"context"
	"errors"
	"path"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/resource"
)

// call is one SDK call a recorder saw.
type call struct {
	pkg, op string
	params  any
}

// recorder records every SDK call made with a configuration it is added to.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) add(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("recordCall",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				r.mu.Lock()
				r.calls = append(r.calls, callOf(in.Parameters))
				r.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// callOf names the call whose input is params from the input's type:
// *s3control.GetPublicAccessBlockInput is s3control.GetPublicAccessBlock.
// (The service ID in the context is not set yet for every service at the
// initialize step.)
func callOf(params any) call {
	t := reflect.TypeOf(params)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return call{params: params}
	}
	op, _ := strings.CutSuffix(t.Name(), "Input")
	return call{pkg: path.Base(t.PkgPath()), op: op, params: params}
}

func (r *recorder) named(pkg, op string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.pkg == pkg && c.op == op {
			out = append(out, c)
		}
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

func TestCrossAccountRoleFor(t *testing.T) {
	for _, tc := range []struct {
		name            string
		ca              CrossAccount
		account, region string
		want            string
	}{
		{"home account", CrossAccount{Home: "111111111111"}, "111111111111", "us-east-1", ""},
		{"no account", CrossAccount{Home: "111111111111"}, "", "us-east-1", ""},
		{"default role", CrossAccount{Home: "111111111111"}, "222222222222", "eu-west-1", "arn:aws:iam::222222222222:role/driftwatch-member"},
		{"named role", CrossAccount{Home: "111111111111", RoleName: "audit"}, "222222222222", "us-east-1", "arn:aws:iam::222222222222:role/audit"},
		{"China partition", CrossAccount{Home: "111111111111"}, "222222222222", "cn-north-1", "arn:aws-cn:iam::222222222222:role/driftwatch-member"},
		{"GovCloud partition", CrossAccount{Home: "111111111111"}, "222222222222", "us-gov-west-1", "arn:aws-us-gov:iam::222222222222:role/driftwatch-member"},
		{"per-account function", CrossAccount{Home: "111111111111", RoleARN: func(a string) string {
			if a == "333333333333" {
				return ""
			}
			return "arn:aws:iam::" + a + ":role/custom"
		}}, "222222222222", "us-east-1", "arn:aws:iam::222222222222:role/custom"},
		{"function opts an account out", CrossAccount{Home: "111111111111", RoleARN: func(string) string { return "" }}, "333333333333", "us-east-1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ca.roleFor(tc.account, tc.region); got != tc.want {
				t.Errorf("roleFor(%q) = %q, want %q", tc.account, got, tc.want)
			}
		})
	}
}

func TestCrossAccountNeedsHome(t *testing.T) {
	r := New(aws.Config{Region: "us-east-1"}, Options{CrossAccount: &CrossAccount{}})
	_, err := r.Read(context.Background(), resource.Ref{Type: "AWS::KMS::Key", ID: "arn:aws:kms:us-east-1:222222222222:key/k", Account: "222222222222"})
	if !errors.Is(err, errNoHome) {
		t.Fatalf("Read without CrossAccount.Home: err = %v, want errNoHome", err)
	}
}

// TestCrossAccountAgainstMoto reads resources that exist only in a member
// account: through the member role (assumed once, with the external ID) they
// are found; in the home account they are not. moto ties the credentials
// AssumeRole returns to the role's account. Every SDK call the reads make
// must map to a declared IAM action.
func TestCrossAccountAgainstMoto(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	const member = "111111111111"

	setup, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := sts.NewFromConfig(setup).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + member + ":role/setup"), RoleSessionName: aws.String("setup"),
	})
	if err != nil {
		t.Fatalf("assume a role in the member account: %v", err)
	}
	c := out.Credentials
	mcfg := setup.Copy()
	mcfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = s3.NewFromConfig(mcfg, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("member-only-bucket")})
	must("create member bucket", err)
	_, err = iam.NewFromConfig(mcfg).CreateRole(ctx, &iam.CreateRoleInput{
		RoleName:                 aws.String("member-only-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
	})
	must("create member role", err)
	key, err := kms.NewFromConfig(mcfg).CreateKey(ctx, &kms.CreateKeyInput{})
	must("create member key", err)
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	if !strings.Contains(keyARN, ":"+member+":") {
		t.Fatalf("moto created the member key as %s: assumed-role credentials did not select the member account", keyARN)
	}
	sg, err := ec2.NewFromConfig(mcfg).CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("member-only-sg"), Description: aws.String("member"),
	})
	must("create member security group", err)
	sgID := aws.ToString(sg.GroupId)

	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	rec.add(&cfg)
	reader := New(cfg, Options{S3PathStyle: true, CrossAccount: &CrossAccount{Home: mototest.Account, ExternalID: "ext-1234"}})

	refs := func(account string) map[string]resource.Ref {
		return map[string]resource.Ref{
			"role":           {Type: "AWS::IAM::Role", ID: "arn:aws:iam::" + account + ":role/member-only-role", Account: account, Region: mototest.Region},
			"key":            {Type: "AWS::KMS::Key", ID: strings.Replace(keyARN, ":"+member+":", ":"+account+":", 1), Account: account, Region: mototest.Region},
			"security group": {Type: "AWS::EC2::SecurityGroup", ID: "arn:aws:ec2:us-east-1:" + account + ":security-group/" + sgID, Account: account, Region: mototest.Region},
		}
	}
	for _, tc := range []struct {
		account string
		exists  bool
	}{
		{member, true},
		{mototest.Account, false},
	} {
		for what, ref := range refs(tc.account) {
			t.Run(what+" in "+tc.account, func(t *testing.T) {
				res, err := reader.Read(ctx, ref)
				if err != nil {
					t.Fatalf("read %s: %v", ref, err)
				}
				if res.Exists != tc.exists {
					t.Errorf("read %s: Exists = %v, want %v", ref.ID, res.Exists, tc.exists)
				}
			})
		}
	}
	// Bucket names are global: another account's bucket is found (real S3
	// answers AccessDenied), so only the member read is checked.
	t.Run("bucket in member", func(t *testing.T) {
		res, err := reader.Read(ctx, resource.Ref{Type: s3BucketType, ID: "arn:aws:s3:::member-only-bucket", Account: member, Region: mototest.Region})
		if err != nil || !res.Exists {
			t.Fatalf("read member bucket: exists %v, err %v", res.Exists, err)
		}
		if res.Doc["Region"] != mototest.Region {
			t.Errorf("member bucket document: %v", res.Doc)
		}
	})

	assumed := rec.named("sts", "AssumeRole")
	if len(assumed) != 1 {
		t.Fatalf("AssumeRole called %d times for nine reads, want once (credentials cached until expiry)", len(assumed))
	}
	in, _ := assumed[0].params.(*sts.AssumeRoleInput)
	if in == nil || aws.ToString(in.RoleArn) != "arn:aws:iam::"+member+":role/driftwatch-member" ||
		aws.ToString(in.ExternalId) != "ext-1234" || aws.ToString(in.RoleSessionName) != "driftwatch" {
		t.Errorf("AssumeRole input = %+v, want the member role with external ID ext-1234, session driftwatch", in)
	}

	rec.mu.Lock()
	calls := rec.calls
	rec.mu.Unlock()
	for _, c := range calls {
		if c.pkg == "" {
			t.Errorf("call with input %T is not an SDK operation", c.params)
			continue
		}
		if _, ok := ActionsFor(c.pkg, c.op); !ok {
			t.Errorf("the reads called %s.%s, which no operationActions table declares", c.pkg, c.op)
		}
	}

	t.Run("home account reads assume nothing", func(t *testing.T) {
		rec.reset()
		if _, err := reader.Read(ctx, refs(mototest.Account)["role"]); err != nil {
			t.Fatal(err)
		}
		if n := len(rec.named("sts", "AssumeRole")); n != 0 {
			t.Errorf("AssumeRole called %d times for a home-account read", n)
		}
	})
}

func TestCrossAccountFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    *CrossAccount
		wantErr bool
	}{
		{name: "not configured", env: map[string]string{EnvAccountID: "111111111111"}},
		{name: "role and external ID", env: map[string]string{EnvAccountID: "111111111111", EnvMemberRole: "driftwatch-member", EnvMemberExternalID: "x-1"},
			want: &CrossAccount{Home: "111111111111", RoleName: "driftwatch-member", ExternalID: "x-1"}},
		{name: "no home account", env: map[string]string{EnvMemberRole: "driftwatch-member"}, wantErr: true},
		{name: "an ARN instead of a name", env: map[string]string{EnvAccountID: "111111111111", EnvMemberRole: "arn:aws:iam::1:role/x"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CrossAccountFromEnv(func(k string) string { return tc.env[k] })
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && (got.Home != tc.want.Home || got.RoleName != tc.want.RoleName || got.ExternalID != tc.want.ExternalID || got.RoleARN != nil)) {
				t.Fatalf("CrossAccountFromEnv = %+v, want %+v", got, tc.want)
			}
		})
	}
}
