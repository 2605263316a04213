package slack

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRoutingChannel(t *testing.T) {
	r := Routing{
		Default: "#drift",
		Routes: []Route{
			{Rules: []string{"aws-iam-*"}, MinSeverity: "high", Channel: "#iam-urgent"},
			{Rules: []string{"aws-iam-*", "aws-kms-key-*"}, Channel: "#iam"},
			{Accounts: []string{"111122223333", " 444455556666 "}, Channel: "#prod"},
			{MinSeverity: "critical", Channel: "#oncall"},
		},
	}
	tests := []struct {
		name, rule, account, severity, want string
	}{
		{"rule glob and severity", "aws-iam-root-access-key", "1", "critical", "#iam-urgent"},
		{"rule glob below threshold falls through", "aws-iam-user-mfa", "1", "medium", "#iam"},
		{"second glob", "aws-kms-key-rotation", "1", "low", "#iam"},
		{"account", "aws-s3-bucket-public-acl", "111122223333", "low", "#prod"},
		{"account with spaces in config", "aws-s3-bucket-public-acl", "444455556666", "low", "#prod"},
		{"order: account before severity", "aws-s3-x", "111122223333", "critical", "#prod"},
		{"severity", "aws-s3-x", "1", "critical", "#oncall"},
		{"unknown severity matches no threshold", "aws-s3-x", "1", "urgent", "#drift"},
		{"default", "aws-s3-x", "1", "high", "#drift"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Channel(tt.rule, tt.account, tt.severity); got != tt.want {
				t.Errorf("Channel(%s, %s, %s) = %s, want %s", tt.rule, tt.account, tt.severity, got, tt.want)
			}
		})
	}
}

func TestRoutingValidate(t *testing.T) {
	tests := []struct {
		name   string
		r      Routing
		fields []string // fields named by the errors; nil: valid
	}{
		{"valid", Routing{Default: "C0123ABCD", Routes: []Route{{Rules: []string{"aws-*"}, Channel: "#x"}}}, nil},
		{"no default", Routing{}, []string{"default"}},
		{"default with space", Routing{Default: "#my channel"}, []string{"default"}},
		{"route without condition", Routing{Default: "#d", Routes: []Route{{Channel: "#x"}}}, []string{"routes[0]"}},
		{"route without channel", Routing{Default: "#d", Routes: []Route{{Accounts: []string{"1"}}}}, []string{"routes[0].channel"}},
		{"bad glob", Routing{Default: "#d", Routes: []Route{{Rules: []string{"ok-*", "aws-[s3"}, Channel: "#x"}}}, []string{"routes[0].rules[1]"}},
		{"empty account", Routing{Default: "#d", Routes: []Route{{Accounts: []string{" "}, Channel: "#x"}}}, []string{"routes[0].accounts[0]"}},
		{"bad severity and several problems", Routing{Default: "#d", Routes: []Route{
			{Rules: []string{"a"}, Channel: "#x"},
			{MinSeverity: "urgent", Channel: ""},
		}}, []string{"routes[1].channel", "routes[1].min_severity"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tt.r)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a *FieldError", e)
				}
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("errors name %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
}

func TestRoutingYAML(t *testing.T) {
	src := `
default: "#cloud-drift"
routes:
  - rules: ["aws-iam-*"]
    channel: "#iam-alerts"
  - accounts: ["111122223333"]
    channel: "#prod-security"
  - min_severity: critical
    channel: "#security-oncall"
`
	var r Routing
	if err := yaml.Unmarshal([]byte(src), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := r.Channel("aws-s3-x", "1", "critical"); got != "#security-oncall" {
		t.Errorf("Channel = %s", got)
	}
	if len(r.Routes) != 3 || r.Routes[0].Rules[0] != "aws-iam-*" || r.Routes[1].Accounts[0] != "111122223333" {
		t.Errorf("decoded %+v", r)
	}
}
