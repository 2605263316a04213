package iampolicy

import (
	"reflect"
	"testing"
)

// st builds a canonical statement from JSON text.
func st(t *testing.T, js string) map[string]any {
	t.Helper()
	d, err := Normalize(`{"Statement":[` + js + `]}`)
	if err != nil {
		t.Fatalf("Normalize(%s): %v", js, err)
	}
	return Statements(d)[0]
}

func TestIsPublicStatement(t *testing.T) {
	const allowAll = `"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"`
	tests := []struct {
		name string
		stmt string
		want bool
	}{
		{name: "principal star", stmt: `{` + allowAll + `}`, want: true},
		{name: "AWS star", stmt: `{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:*","Resource":"*"}`, want: true},
		{name: "AWS star among accounts", stmt: `{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root","*"]},"Action":"s3:*","Resource":"*"}`, want: true},
		{name: "wildcard account ARN", stmt: `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"s3:*","Resource":"*"}`, want: true},
		{name: "deny star", stmt: `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}`, want: false},
		{name: "specific account", stmt: `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}`, want: false},
		{name: "service principal", stmt: `{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"*"}`, want: false},
		{name: "no principal (identity policy)", stmt: `{"Effect":"Allow","Action":"*","Resource":"*"}`, want: false},
		{name: "allow with NotPrincipal", stmt: `{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"s3:*","Resource":"*"}`, want: true},
		{name: "lower-case allow", stmt: `{"Effect":"allow","Principal":"*","Action":"s3:*","Resource":"*"}`, want: true},

		{name: "SourceArn restricts", stmt: `{` + allowAll + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}}`, want: false},
		{name: "SourceArn bucket ARN restricts", stmt: `{` + allowAll + `,"Condition":{"ArnEquals":{"aws:SourceArn":"arn:aws:s3:::logs"}}}`, want: false},
		{name: "SourceArn wildcard account open", stmt: `{` + allowAll + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:*:trail/t"}}}`, want: true},
		{name: "SourceArn star open", stmt: `{` + allowAll + `,"Condition":{"ArnLike":{"aws:SourceArn":"*"}}}`, want: true},
		{name: "SourceArn any resource open", stmt: `{` + allowAll + `,"Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::*"}}}`, want: true},
		{name: "SourceAccount restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}`, want: false},
		{name: "SourceAccount wildcard open", stmt: `{` + allowAll + `,"Condition":{"StringLike":{"aws:SourceAccount":"1111*"}}}`, want: true},
		{name: "one open value opens", stmt: `{` + allowAll + `,"Condition":{"StringLike":{"aws:SourceAccount":["111122223333","*"]}}}`, want: true},
		{name: "SourceOwner restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:SourceOwner":"111122223333"}}}`, want: false},
		{name: "PrincipalOrgID restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}`, want: false},
		{name: "PrincipalOrgPaths restricts", stmt: `{` + allowAll + `,"Condition":{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"o-a/r-b/ou-c/*"}}}`, want: false},
		{name: "PrincipalAccount restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:PrincipalAccount":["111122223333"]}}}`, want: false},
		{name: "PrincipalArn restricts", stmt: `{` + allowAll + `,"Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/r"}}}`, want: false},
		{name: "kms CallerAccount restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}`, want: false},
		{name: "SourceVpc restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:SourceVpc":"vpc-1"}}}`, want: false},
		{name: "SourceVpce restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:sourceVpce":"vpce-1"}}}`, want: false},
		{name: "userid restricts", stmt: `{` + allowAll + `,"Condition":{"StringLike":{"aws:userid":"AROAEXAMPLE:*"}}}`, want: false},
		{name: "username restricts", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"aws:username":"alice"}}}`, want: false},
		{name: "key case-insensitive", stmt: `{` + allowAll + `,"Condition":{"StringEquals":{"AWS:SOURCEACCOUNT":"111122223333"}}}`, want: false},
		{name: "SourceIp restricts", stmt: `{` + allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}}`, want: false},
		{name: "SourceIp world v4 open", stmt: `{` + allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","0.0.0.0/0"]}}}`, want: true},
		{name: "SourceIp world v6 open", stmt: `{` + allowAll + `,"Condition":{"IpAddress":{"aws:SourceIp":"::/0"}}}`, want: true},
		{name: "NotIpAddress open", stmt: `{` + allowAll + `,"Condition":{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}`, want: true},
		{name: "SecureTransport alone open", stmt: `{` + allowAll + `,"Condition":{"Bool":{"aws:SecureTransport":"true"}}}`, want: true},
		{name: "Referer open", stmt: `{` + allowAll + `,"Condition":{"StringLike":{"aws:Referer":"https://example.com/*"}}}`, want: true},
		{name: "negated operator open", stmt: `{` + allowAll + `,"Condition":{"StringNotEquals":{"aws:SourceAccount":"111122223333"}}}`, want: true},
		{name: "IfExists open", stmt: `{` + allowAll + `,"Condition":{"StringEqualsIfExists":{"aws:SourceAccount":"111122223333"}}}`, want: true},
		{name: "ForAllValues open", stmt: `{` + allowAll + `,"Condition":{"ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}`, want: true},
		{name: "SecureTransport plus SourceVpce restricts", stmt: `{` + allowAll + `,"Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:SourceVpce":"vpce-1"}}}`, want: false},
		{name: "Null operator open", stmt: `{` + allowAll + `,"Condition":{"Null":{"aws:SourceVpce":"false"}}}`, want: true},
		{name: "Lambda URL auth NONE open", stmt: `{"Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"*","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}`, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := st(t, tt.stmt)
			if got := IsPublicStatement(s); got != tt.want {
				t.Errorf("IsPublicStatement(%s) = %v, want %v", tt.stmt, got, tt.want)
			}
			if got := IsPublic(map[string]any{"Statement": []any{s}}); got != tt.want {
				t.Errorf("IsPublic = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsPublicStatementNotNormalized(t *testing.T) {
	tests := []struct {
		name string
		stmt map[string]any
		want bool
	}{
		{name: "bare star", stmt: map[string]any{"Effect": "Allow", "Principal": "*"}, want: true},
		{name: "AWS string", stmt: map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "*"}}, want: true},
		{name: "condition scalar", stmt: map[string]any{"Effect": "Allow", "Principal": "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "111122223333"}}}, want: false},
		{name: "empty", stmt: map[string]any{}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPublicStatement(tt.stmt); got != tt.want {
				t.Errorf("IsPublicStatement() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsAdminStatement(t *testing.T) {
	tests := []struct {
		name string
		stmt string
		want bool
	}{
		{name: "star star", stmt: `{"Effect":"Allow","Action":"*","Resource":"*"}`, want: true},
		{name: "star colon star", stmt: `{"Effect":"Allow","Action":["*:*"],"Resource":["*"]}`, want: true},
		{name: "with condition still admin", stmt: `{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`, want: true},
		{name: "among other actions", stmt: `{"Effect":"Allow","Action":["s3:GetObject","*"],"Resource":"*"}`, want: true},
		{name: "deny", stmt: `{"Effect":"Deny","Action":"*","Resource":"*"}`, want: false},
		{name: "service wildcard", stmt: `{"Effect":"Allow","Action":"iam:*","Resource":"*"}`, want: false},
		{name: "specific resource", stmt: `{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b"}`, want: false},
		{name: "NotAction not counted", stmt: `{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := st(t, tt.stmt)
			if got := IsAdminStatement(s); got != tt.want {
				t.Errorf("IsAdminStatement(%s) = %v, want %v", tt.stmt, got, tt.want)
			}
			if got := IsAdmin(map[string]any{"Statement": []any{s}}); got != tt.want {
				t.Errorf("IsAdmin = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExternalPrincipals(t *testing.T) {
	const own = "123456789012"
	tests := []struct {
		name    string
		policy  string
		account string
		want    []string
	}{
		{
			name:   "other account root",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole"}}`,
			want:   []string{"arn:aws:iam::193672423079:root"},
		},
		{
			name:   "other account bare ID",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"193672423079"},"Action":"sts:AssumeRole"}}`,
			want:   []string{"193672423079"},
		},
		{
			name:   "own account",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:root","arn:aws:iam::123456789012:role/admin"]},"Action":"sts:AssumeRole"}}`,
			want:   nil,
		},
		{
			name:   "service principal",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`,
			want:   nil,
		},
		{
			name:   "federated principal",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:saml-provider/okta"},"Action":"sts:AssumeRoleWithSAML"}}`,
			want:   nil,
		},
		{
			name:   "external ID condition",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc-123"}}}}`,
			want:   nil,
		},
		{
			name:   "external ID wildcard does not count",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:ExternalId":"*"}}}}`,
			want:   []string{"arn:aws:iam::193672423079:root"},
		},
		{
			name:   "external ID IfExists does not count",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"sts:ExternalId":"x"}}}}`,
			want:   []string{"arn:aws:iam::193672423079:root"},
		},
		{
			name:   "deny ignored",
			policy: `{"Statement":{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole"}}`,
			want:   nil,
		},
		{
			name:   "star",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}`,
			want:   []string{"*"},
		},
		{
			name:   "star limited to own account",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"123456789012"}}}}`,
			want:   nil,
		},
		{
			name:   "star limited to own role ARN",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/ci-*"}}}}`,
			want:   nil,
		},
		{
			name:   "star limited to organization",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}}`,
			want:   []string{"*"},
		},
		{
			name:   "star limited to another account",
			policy: `{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":["123456789012","193672423079"]}}}}`,
			want:   []string{"*"},
		},
		{
			name:   "not principal",
			policy: `{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`,
			want:   []string{"NotPrincipal"},
		},
		{
			name:   "unique ID of a deleted principal",
			policy: `{"Statement":{"Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEID12345678"},"Action":"sts:AssumeRole"}}`,
			want:   nil,
		},
		{
			name:   "several statements, sorted and distinct",
			policy: `{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::111111111111:user/x"]},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:TagSession"}]}`,
			want:   []string{"arn:aws:iam::111111111111:user/x", "arn:aws:iam::999999999999:root"},
		},
		{
			name:    "no account given: every account counts",
			policy:  `{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}}`,
			account: "-",
			want:    []string{"arn:aws:iam::123456789012:root"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Normalize(tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			account := own
			if tt.account == "-" {
				account = ""
			}
			got := ExternalPrincipals(d, account)
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExternalPrincipals() = %q, want %q", got, tt.want)
			}
			if trusts := TrustsExternalAccount(d, account); trusts != (len(tt.want) > 0) {
				t.Errorf("TrustsExternalAccount() = %v, want %v", trusts, len(tt.want) > 0)
			}
		})
	}
}

func TestIsWorldCIDR(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0.0.0.0/0", true},
		{"::/0", true},
		{" 0.0.0.0/0 ", true},
		{"10.0.0.0/8", false},
		{"0.0.0.0/1", false},
		{"0.0.0.0", false},
		{"", false},
		{"not-a-cidr", false},
		{"2001:db8::/32", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsWorldCIDR(tt.in); got != tt.want {
				t.Errorf("IsWorldCIDR(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAccountOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"123456789012", "123456789012"},
		{"arn:aws:iam::123456789012:root", "123456789012"},
		{"arn:aws:sts::123456789012:assumed-role/r/s", "123456789012"},
		{"arn:aws-cn:iam::123456789012:user/path/u", "123456789012"},
		{"*", ""},
		{"AROAEXAMPLEID", ""},
		{"12345", ""},
		{"arn:aws:s3:::bucket", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := AccountOf(tt.in); got != tt.want {
				t.Errorf("AccountOf(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
