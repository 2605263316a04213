package iampolicy

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const trustJSON = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::193672423079:root"},"Action":"sts:AssumeRole"}]}`

func emptyPrincipal() map[string]any {
	return map[string]any{"AWS": []any{}, "Service": []any{}, "Federated": []any{}, "CanonicalUser": []any{}}
}

func principal(typ string, vals ...any) map[string]any {
	p := emptyPrincipal()
	p[typ] = vals
	return p
}

func stmt(overrides map[string]any) map[string]any {
	s := map[string]any{
		"Sid":          "",
		"Effect":       "Allow",
		"Principal":    emptyPrincipal(),
		"NotPrincipal": emptyPrincipal(),
		"Action":       []any{},
		"NotAction":    []any{},
		"Resource":     []any{},
		"NotResource":  []any{},
		"Condition":    map[string]any{},
	}
	for k, v := range overrides {
		s[k] = v
	}
	return s
}

func doc(stmts ...any) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Id": "", "Statement": stmts}
}

func TestNormalize(t *testing.T) {
	trustWant := doc(stmt(map[string]any{
		"Principal": principal("AWS", "arn:aws:iam::193672423079:root"),
		"Action":    []any{"sts:AssumeRole"},
	}))
	tests := []struct {
		name string
		in   any
		want map[string]any
	}{
		{name: "JSON string", in: trustJSON, want: trustWant},
		{name: "bytes", in: []byte(trustJSON), want: trustWant},
		{name: "raw message", in: json.RawMessage(trustJSON), want: trustWant},
		{name: "pointer", in: &[]string{trustJSON}[0], want: trustWant},
		{name: "URL-encoded as in CreateRole", in: url.PathEscape(trustJSON), want: trustWant},
		{name: "URL-encoded with query escaping", in: strings.ReplaceAll(url.QueryEscape(trustJSON), "+", "%20"), want: trustWant},
		{name: "JSON string holding JSON", in: `"` + strings.ReplaceAll(trustJSON, `"`, `\"`) + `"`, want: trustWant},
		{name: "surrounding whitespace", in: "\n  " + trustJSON + "\n", want: trustWant},
		{
			name: "decoded object, single statement object",
			in: map[string]any{"Version": "2012-10-17", "Statement": map[string]any{
				"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
			}},
			want: doc(stmt(map[string]any{
				"Principal": principal("AWS", "*"),
				"Action":    []any{"s3:GetObject"},
				"Resource":  []any{"arn:aws:s3:::b/*"},
			})),
		},
		{
			name: "all elements, lists kept, conditions as string lists",
			in: `{"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"S1","Effect":"Deny",
				"NotPrincipal":{"AWS":["arn:aws:iam::111122223333:root"],"Service":"s3.amazonaws.com"},
				"NotAction":["s3:Get*","s3:List*"],"NotResource":"arn:aws:s3:::b",
				"Condition":{"Bool":{"aws:SecureTransport":false},"NumericLessThan":{"s3:TlsVersion":1.2,"aws:MultiFactorAuthAge":3600},
				"StringEquals":{"aws:SourceAccount":["111122223333","444455556666"]}}}]}`,
			want: map[string]any{"Version": "2012-10-17", "Id": "p1", "Statement": []any{stmt(map[string]any{
				"Sid":    "S1",
				"Effect": "Deny",
				"NotPrincipal": map[string]any{
					"AWS": []any{"arn:aws:iam::111122223333:root"}, "Service": []any{"s3.amazonaws.com"},
					"Federated": []any{}, "CanonicalUser": []any{},
				},
				"NotAction":   []any{"s3:Get*", "s3:List*"},
				"NotResource": []any{"arn:aws:s3:::b"},
				"Condition": map[string]any{
					"Bool":            map[string]any{"aws:SecureTransport": []any{"false"}},
					"NumericLessThan": map[string]any{"s3:TlsVersion": []any{"1.2"}, "aws:MultiFactorAuthAge": []any{"3600"}},
					"StringEquals":    map[string]any{"aws:SourceAccount": []any{"111122223333", "444455556666"}},
				},
			})}},
		},
		{
			name: "element names in other letter case",
			in:   `{"version":"2012-10-17","statement":[{"effect":"Allow","principal":{"aws":"*"},"action":"*","resource":"*"}]}`,
			want: doc(stmt(map[string]any{
				"Principal": principal("AWS", "*"),
				"Action":    []any{"*"},
				"Resource":  []any{"*"},
			})),
		},
		{
			name: "decoded object with numbers and bools in conditions",
			in: map[string]any{"Statement": []any{map[string]any{
				"Effect": "Allow", "Action": []any{"s3:*"}, "Resource": "*",
				"Condition": map[string]any{"Bool": map[string]any{"aws:MultiFactorAuthPresent": true}, "NumericGreaterThan": map[string]any{"k": float64(3), "j": int64(4)}},
			}}},
			want: map[string]any{"Version": "", "Id": "", "Statement": []any{stmt(map[string]any{
				"Action":   []any{"s3:*"},
				"Resource": []any{"*"},
				"Condition": map[string]any{
					"Bool":               map[string]any{"aws:MultiFactorAuthPresent": []any{"true"}},
					"NumericGreaterThan": map[string]any{"k": []any{"3"}, "j": []any{"4"}},
				},
			})}},
		},
		{
			name: "federated and service principals",
			in:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:saml-provider/x","Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"sts:AssumeRoleWithSAML"}]}`,
			want: doc(stmt(map[string]any{
				"Principal": map[string]any{
					"AWS": []any{}, "Service": []any{"ec2.amazonaws.com", "lambda.amazonaws.com"},
					"Federated": []any{"arn:aws:iam::1:saml-provider/x"}, "CanonicalUser": []any{},
				},
				"Action": []any{"sts:AssumeRoleWithSAML"},
			})),
		},
		{
			name: "unknown statement element kept",
			in:   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Extra":{"n":2}}]}`,
			want: doc(stmt(map[string]any{
				"Action":   []any{"s3:*"},
				"Resource": []any{"*"},
				"Extra":    map[string]any{"n": int64(2)},
			})),
		},
		{
			name: "no statements",
			in:   `{"Version":"2012-10-17"}`,
			want: map[string]any{"Version": "2012-10-17", "Id": "", "Statement": []any{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatalf("Normalize() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(tt.want)
				t.Errorf("Normalize() =\n%s\nwant\n%s", gj, wj)
			}
			// Normalizing the canonical form changes nothing.
			again, err := Normalize(got)
			if err != nil {
				t.Fatalf("Normalize(canonical) error = %v", err)
			}
			if !reflect.DeepEqual(again, got) {
				t.Errorf("Normalize is not idempotent:\n%v\n%v", again, got)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        any
		wantEmpty bool
	}{
		{name: "nil", in: nil, wantEmpty: true},
		{name: "nil pointer", in: (*string)(nil), wantEmpty: true},
		{name: "blank string", in: "  ", wantEmpty: true},
		{name: "not JSON", in: "Version: 2012", wantEmpty: false},
		{name: "JSON list", in: "[1,2]", wantEmpty: false},
		{name: "truncated JSON", in: `{"Version":"2012-10-17"`, wantEmpty: false},
		{name: "trailing data", in: `{"Version":"2012-10-17"} {}`, wantEmpty: false},
		{name: "bad URL escape", in: "%7B%zz", wantEmpty: false},
		{name: "statement is a string", in: `{"Statement":"x"}`, wantEmpty: false},
		{name: "statement entry is a string", in: `{"Statement":["x"]}`, wantEmpty: false},
		{name: "unsupported type", in: 42, wantEmpty: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize(tt.in)
			if err == nil {
				t.Fatal("Normalize() error = nil, want an error")
			}
			if got := errors.Is(err, ErrEmpty); got != tt.wantEmpty {
				t.Errorf("errors.Is(err, ErrEmpty) = %v, want %v (err %v)", got, tt.wantEmpty, err)
			}
		})
	}
}

func TestStatements(t *testing.T) {
	tests := []struct {
		name string
		doc  map[string]any
		want int
	}{
		{name: "list", doc: map[string]any{"Statement": []any{map[string]any{}, map[string]any{}}}, want: 2},
		{name: "single object", doc: map[string]any{"Statement": map[string]any{}}, want: 1},
		{name: "lower-case key", doc: map[string]any{"statement": []any{map[string]any{}}}, want: 1},
		{name: "none", doc: map[string]any{}, want: 0},
		{name: "non-object entries skipped", doc: map[string]any{"Statement": []any{"x", map[string]any{}}}, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := len(Statements(tt.doc)); got != tt.want {
				t.Errorf("len(Statements()) = %d, want %d", got, tt.want)
			}
		})
	}
}
