package demo

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/driftwatch/driftwatch/internal/mototest"
)

func TestRevertAndBaseline(t *testing.T) {
	ctx := context.Background()
	srv := mototest.Start(t)
	cfg, err := srv.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := RevertAndBaseline(ctx, &out, cfg); err != nil {
		t.Fatalf("RevertAndBaseline: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"would revert " + sshRule,
		"ec2:RevokeSecurityGroupIngress",
		"re-read: SSH is still open",
		"reverted " + sshRule,
		"(verified by a re-read)",
		"re-read: ✓ " + sshRule + " passes",
		"inbound tcp 443 from 0.0.0.0/0",
		"✗ " + baselineRule,
		`"FromPort":8080`,
		"SecurityGroupIngress: + tcp 8080 from 10.0.0.0/8",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
