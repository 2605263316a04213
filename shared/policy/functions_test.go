package policy

import (
	"context"
	"testing"

	"github.com/driftwatch/driftwatch/shared/iampolicy"
)

func TestFunctions(t *testing.T) {
	publicPolicy := iampolicy.MustNormalize(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}`)
	vpcePolicy := iampolicy.MustNormalize(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}`)
	adminPolicy := iampolicy.MustNormalize(`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	trust := iampolicy.MustNormalize(`{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::123456789012:root"]},"Action":"sts:AssumeRole"}]}`)
	doc := map[string]any{
		"Public": publicPolicy,
		"Vpce":   vpcePolicy,
		"Admin":  adminPolicy,
		"Trust":  trust,
		"Raw":    `{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}`,
		"Empty":  "",
		"Null":   nil,
		"Rules": []any{
			map[string]any{"IpProtocol": "tcp", "FromPort": int64(20), "ToPort": int64(25), "CidrIp": "0.0.0.0/0"},
			map[string]any{"IpProtocol": "-1", "FromPort": int64(-1), "ToPort": int64(-1), "CidrIp": "10.0.0.0/8"},
			map[string]any{"IpProtocol": "udp", "FromPort": float64(53), "ToPort": float64(53), "CidrIp": "::/0"},
		},
	}
	tests := []struct {
		expr string
		want Result
	}{
		{"policy_is_public(resource.Public)", Pass},
		{"!policy_is_public(resource.Vpce)", Pass},
		{"resource.Public.Statement.exists(s, is_public_statement(s))", Pass},
		{"!resource.Vpce.Statement.exists(s, is_public_statement(s))", Pass},
		{"policy_is_public(resource.Raw)", Pass},
		{"!policy_is_public(resource.Empty) && !policy_is_public(resource.Null)", Pass},
		{"policy_is_admin(resource.Admin) && !policy_is_admin(resource.Public)", Pass},
		{"resource.Admin.Statement.exists(s, is_admin_statement(s))", Pass},
		{"is_public_statement({'Effect': 'Allow', 'Principal': '*'})", Pass},
		{"is_admin_statement({'Effect': 'Allow', 'Action': ['*'], 'Resource': '*'})", Pass},
		{"trusts_external_account(resource.Trust, ref.account)", Pass},
		{"!trusts_external_account(resource.Trust, '999999999999') == false", Pass},
		{"external_principals(resource.Trust, ref.account) == ['arn:aws:iam::999999999999:root']", Pass},
		{"normalize_policy(resource.Raw).Statement[0].Principal.AWS == ['*']", Pass},
		{"is_world_cidr('0.0.0.0/0') && is_world_cidr('::/0') && !is_world_cidr('10.0.0.0/8') && !is_world_cidr('junk')", Pass},
		{"cidr_contains('10.0.0.0/8', '10.1.2.3') && cidr_contains('10.0.0.0/8', '10.1.0.0/16') && !cidr_contains('10.0.0.0/16', '10.0.0.0/8') && !cidr_contains('x', '10.0.0.1')", Pass},
		{"resource.Rules.exists(r, is_world_cidr(r.CidrIp) && port_in_range(22, r.FromPort, r.ToPort))", Pass},
		{"resource.Rules.exists(r, is_world_cidr(r.CidrIp) && port_in_range(26, r.FromPort, r.ToPort))", Fail},
		{"resource.Rules.exists(r, port_in_range(3389, r.FromPort, r.ToPort))", Pass},
		{"resource.Rules.exists(r, port_in_range(53, r.FromPort, r.ToPort, r.IpProtocol) && is_world_cidr(r.CidrIp))", Pass},
		{"port_in_range(22, 0, 0, 'all') && port_in_range(22, 0, 0, '-1') && !port_in_range(22, 0, 65535, 'icmp')", Pass},
		{"port_in_range(22, 22, 22) && !port_in_range(23, 0, 22) && port_in_range(0, -1, 5)", Pass},
		{"port_in_range(22, 'a', 23)", Error},
		{"port_in_range(22, 1.5, 23)", Error},
		{"policy_is_public(resource.Rules)", Error},
		{"is_public_statement('x')", Error},
		{"policy_is_public('not json')", Error},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e := mustCompile(t, []Rule{rule("aws-f", tt.expr)})
			v := e.Evaluate(context.Background(), Input{Resource: bucket(doc)})[0]
			if v.Result != tt.want {
				t.Errorf("%s = %s (%s), want %s", tt.expr, v.Result, v.Message, tt.want)
			}
		})
	}
}
