package detect

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/driftwatch/driftwatch/internal/ctrecord"
	"github.com/driftwatch/driftwatch/internal/mototest"
	"github.com/driftwatch/driftwatch/shared/catalog"
	"github.com/driftwatch/driftwatch/shared/change"
	fetchaws "github.com/driftwatch/driftwatch/shared/fetch/aws"
	"github.com/driftwatch/driftwatch/shared/filter"
	"github.com/driftwatch/driftwatch/shared/policy"
	"github.com/driftwatch/driftwatch/shared/policy/pack"
)

// moto is the server every scenario test in this package shares. Tests use
// unique resource names instead of resetting it, so they may run in
// parallel.
var moto *mototest.Server

func TestMain(m *testing.M) {
	s, err := mototest.Launch()
	if err != nil {
		fmt.Fprintln(os.Stderr, "detect tests need moto:", err)
		os.Exit(1)
	}
	moto = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// motoEnv is the real pipeline pointed at the shared moto server.
type motoEnv struct {
	cfg aws.Config
	det *Detector
}

var (
	builtinEngine *policy.Engine
	builtinErr    error
)

func engine(t testing.TB) *policy.Engine {
	t.Helper()
	if builtinEngine == nil && builtinErr == nil {
		rules, err := pack.AWS()
		if err == nil {
			builtinEngine, err = policy.Compile(rules)
		}
		builtinErr = err
	}
	if builtinErr != nil {
		t.Fatalf("compile built-in rules: %v", builtinErr)
	}
	return builtinEngine
}

func newMotoEnv(t *testing.T) *motoEnv {
	t.Helper()
	cfg, err := moto.Config(context.Background())
	if err != nil {
		t.Fatalf("aws config for moto: %v", err)
	}
	f, err := filter.New(nil, catalog.Default().Watched)
	if err != nil {
		t.Fatal(err)
	}
	return &motoEnv{cfg: cfg, det: &Detector{
		Filter:  f,
		Catalog: catalog.Default(),
		Reader:  fetchaws.New(cfg, fetchaws.Options{S3PathStyle: true}),
		Rules:   engine(t),
	}}
}

// feed runs the pipeline on one CloudTrail record and returns its verdicts.
// It fails the test when the change is ignored or a resource can't be read.
func (e *motoEnv) feed(t *testing.T, record []byte) []policy.Verdict {
	t.Helper()
	chs, errs := change.Decode("scenario", record)
	if len(errs) > 0 || len(chs) != 1 {
		t.Fatalf("decode scenario record: %d changes, errors %v", len(chs), errs)
	}
	out := e.det.Process(context.Background(), &chs[0])
	if out.Ignored != "" {
		t.Fatalf("change %s %s ignored: %s", chs[0].Service, chs[0].Operation, out.Ignored)
	}
	if out.Err != nil {
		t.Fatalf("resolve: %v", out.Err)
	}
	for _, c := range out.Checked {
		if c.Err != nil {
			t.Fatalf("check %s: %v", c.Resource.Ref, c.Err)
		}
	}
	return out.Verdicts()
}

// expect asserts the result of one rule among verdicts.
func expect(t *testing.T, vs []policy.Verdict, rule string, want policy.Result) {
	t.Helper()
	for _, v := range vs {
		if v.RuleID == rule {
			if v.Result != want {
				t.Fatalf("rule %s on %s: got %s (%s), want %s", rule, v.Resource.ID, v.Result, v.Message, want)
			}
			return
		}
	}
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		ids = append(ids, v.RuleID+"="+string(v.Result))
	}
	t.Fatalf("no verdict for rule %s; got %v", rule, ids)
}

// record builds a CloudTrail record, in the shape CloudTrail writes, of a
// call made against moto by an IAM user of moto's account in us-east-1.
// request and response are requestParameters and responseElements (nil →
// JSON null).
func record(service, operation string, request, response map[string]any) []byte {
	return ctrecord.Build(ctrecord.Call{
		Service: service, Operation: operation, Region: mototest.Region,
		Caller:  ctrecord.Caller{Account: mototest.Account, UserName: "scenario-engineer"},
		Request: request, Response: response,
	})
}

// unique returns prefix plus a random suffix, for resource names in the
// shared moto server.
func unique(prefix string) string { return prefix + "-" + ctrecord.UUID()[:8] }
