package main

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	out := []byte(`goos: linux
BenchmarkEvaluate 	  120000	      9800 ns/op	      9184 p50-ns	     65100 p99-ns	    4015 B/op	       7 allocs/op
BenchmarkPipelineMoto/latency-2         	      50	 101226590 ns/op	         9.000 dynamodb-calls/op
BenchmarkEvaluate 	  118000	      9900 ns/op	      9300 p50-ns	     64000 p99-ns	    4015 B/op	       7 allocs/op
PASS
`)
	res := results{}
	parse("./p", out, res)
	tests := []struct {
		name, bench, metric string
		want                []float64
	}{
		{"runs collected in order", "BenchmarkEvaluate", "p50-ns", []float64{9184, 9300}},
		{"CPU suffix stripped from sub-benchmark", "BenchmarkPipelineMoto/latency", "dynamodb-calls/op", []float64{9}},
		{"custom unit", "BenchmarkEvaluate", "allocs/op", []float64{7, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := res["./p "+tt.bench][tt.metric]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s %s = %v, want %v", tt.bench, tt.metric, got, tt.want)
			}
		})
	}
	if v, ok := res.get("./p", "BenchmarkEvaluate", "p99-ns"); !ok || v != 65100 {
		t.Errorf("median p99 = %v %v, want 65100", v, ok)
	}
}

func TestPages(t *testing.T) {
	tests := []struct{ n, size, want int }{
		{0, 100, 1}, // an empty list is still one call
		{1, 100, 1},
		{100, 100, 1},
		{101, 100, 2},
		{5, 0, 1}, // account-level setting: one read, no list
	}
	for _, tt := range tests {
		if got := pages(tt.n, tt.size); got != tt.want {
			t.Errorf("pages(%d, %d) = %d, want %d", tt.n, tt.size, got, tt.want)
		}
	}
}

func TestNS(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{46, "46 ns"},
		{2994, "3.0 µs"},
		{43066600, "43.1 ms"},
	}
	for _, tt := range tests {
		if got := ns(tt.v); got != tt.want {
			t.Errorf("ns(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
