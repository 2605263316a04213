package slack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestSummarizeRequest(t *testing.T) {
	quarantine := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["lambda:CreateFunction","iam:AttachUserPolicy","iam:PutUserPolicy","ec2:RunInstances","iam:CreateUser"],"Resource":["*"]}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}`
	tests := []struct {
		name string
		req  any
		want []string
	}{
		{"nil", nil, nil},
		{"bucket policy object; host and empty values left out", map[string]any{
			"bucketName": "test", "host": []any{"s3.amazonaws.com"}, "policy": []any{""},
			"bucketPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::test/*"}}},
		}, []string{
			"bucketName: test",
			"bucketPolicy: policy, 1 statement: Allow AWS:* s3:GetObject on arn:aws:s3:::test/*",
		}},
		{"inline policy as a JSON string", map[string]any{"policyDocument": quarantine, "userName": "u", "policyName": "Q"}, []string{
			"policyDocument: policy, 1 statement: Deny lambda:CreateFunction, iam:AttachUserPolicy, iam:PutUserPolicy, …+2 on *",
			"policyName: Q",
			"userName: u",
		}},
		{"URL-encoded trust policy with a condition", map[string]any{"policyDocument": url.QueryEscape(trust), "roleName": "r"}, []string{
			"policyDocument: policy, 1 statement: Allow AWS:arn:aws:iam::999999999999:root sts:AssumeRole if StringEquals sts:ExternalId",
			"roleName: r",
		}},
		{"EC2 items lists collapse", map[string]any{"groupId": "sg-1", "ipPermissions": map[string]any{"items": []any{map[string]any{
			"ipProtocol": "-1", "groups": map[string]any{},
			"ipRanges":   map[string]any{"items": []any{map[string]any{"cidrIp": "0.0.0.0/0"}}},
			"ipv6Ranges": map[string]any{"items": []any{map[string]any{"cidrIpv6": "::/0"}}},
		}}}}, []string{
			"groupId: sg-1",
			"ipPermissions: {ipProtocol: -1, ipRanges: {cidrIp: 0.0.0.0/0}, ipv6Ranges: {cidrIpv6: ::/0}}",
		}},
		{"XML namespaces left out, lists shortened", map[string]any{"AccessControlPolicy": map[string]any{
			"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
			"AccessControlList": map[string]any{"Grant": []any{
				map[string]any{"Grantee": map[string]any{"URI": "AllUsers", "xmlns:xsi": "x"}, "Permission": "READ"},
				map[string]any{"Grantee": map[string]any{"URI": "AllUsers"}, "Permission": "READ_ACP"},
				map[string]any{"Grantee": map[string]any{"ID": "o"}, "Permission": "FULL_CONTROL"},
				map[string]any{"Grantee": map[string]any{"ID": "p"}, "Permission": "WRITE"},
			}},
		}}, []string{
			"AccessControlPolicy: {AccessControlList: {Grant: [{Grantee: {URI: AllUsers}, Permission: READ}, " +
				"{Grantee: {URI: AllUsers}, Permission: READ_ACP}, {Grantee: {ID: o}, Permission: FULL_CONTROL}, …+1]}}",
		}},
		{"numbers and booleans", map[string]any{"port": float64(22), "enabled": false, "big": int64(1) << 40}, []string{
			"big: 1099511627776", "enabled: false", "port: 22",
		}},
		{"JSON text", json.RawMessage(`{"trailName":"main","isMultiRegionTrail":true}`), []string{
			"isMultiRegionTrail: true", "trailName: main",
		}},
		{"not an object", "plain text that is not JSON", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range SummarizeRequest(tt.req) {
				got = append(got, p.String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("SummarizeRequest =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSummarizeRequestBounds(t *testing.T) {
	req := map[string]any{}
	for i := range 25 {
		req[fmt.Sprintf("param%02d", i)] = strings.Repeat("v", 1000)
	}
	req[strings.Repeat("k", 500)] = "x"
	got := SummarizeRequest(req)
	if len(got) != maxParamLines+1 {
		t.Fatalf("%d params, want %d and a count", len(got), maxParamLines)
	}
	if last := got[len(got)-1]; last.Name != "…" || last.Value != "16 more parameters" {
		t.Errorf("last param %+v, want the count of the rest", last)
	}
	for _, p := range got {
		if n := len(p.String()); n > maxParamLine {
			t.Errorf("%q… is %d bytes, more than %d", p.String()[:20], n, maxParamLine)
		}
	}
	stmts := make([]any, 50)
	for i := range stmts {
		stmts[i] = map[string]any{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
	}
	p := SummarizeRequest(map[string]any{"policy": map[string]any{"Statement": stmts}})
	if len(p) != 1 || !strings.HasPrefix(p[0].Value, "policy, 50 statements: ") || !strings.Contains(p[0].Value, "…+47") {
		t.Errorf("big policy summarised as %+v", p)
	}
}
